using System.Text;
using Pretext.Data;

namespace Pretext.Tests.Data;

public sealed class MailParserTests
{
    static MailParserTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s.Replace("\n", "\r\n"));

    private static MailText Read(string mail, MailHeaders headers = MailHeaders.Subject) =>
        MailParser.Read(Ascii(mail), new MailReadOptions { Headers = headers });

    private static IEnumerable<MailProblem> Problems(MailText m) => m.Issues.Select(i => i.Problem);

    [Fact]
    public void FoldedHeadersAndEncodedWords()
    {
        var mail = """
            From someone@example.com  Thu Aug 22 12:36:23 2002
            Return-Path: <a@example.com>
            Subject: =?iso-8859-1?Q?Caf=E9_au?=
             =?iso-8859-1?Q?_lait?= for =?UTF-8?B?8J+Y?= =?UTF-8?B?gA==?= two
            X-Folded: one
            	two
            From: =?koi8-r?B?8NLJ18XU?= <p@example.com>

            Body line.
            """;
        var m = Read(mail);
        // Adjacent encoded words join without the whitespace between them; the emoji's four bytes are split across two
        // words and must still come out as one character.
        Assert.Equal("Café au lait for 😀 two", m.Subject);
        Assert.Equal("Subject: Café au lait for 😀 two\n\nBody line.", m.Text);
        Assert.Empty(m.Issues);

        Assert.Equal("Body line.", Read(mail, MailHeaders.None).Text);
        var all = Read(mail, MailHeaders.All).Text;
        Assert.Equal(
            "Return-Path: <a@example.com>\nSubject: Café au lait for 😀 two\nX-Folded: one two\nFrom: Привет <p@example.com>\n\nBody line.",
            all);
    }

    [Fact]
    public void NestedMultipartWithAlternativeAndAttachments()
    {
        var image = Convert.ToBase64String(Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray(), Base64FormattingOptions.InsertLineBreaks);
        var mail = $"""
            Subject: nested
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer;b"

            This is the preamble; it is not shown.
            --outer;b
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=us-ascii

            Plain version.
            --inner
            Content-Type: text/html

            <p>HTML version.</p>
            --inner--
            --outer;b
            Content-Type: image/png; name="pic.png"
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename="pic.png"

            {image}
            --outer;b
            Content-Type: application/pdf
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --outer;b
            Content-Type: text/plain; charset="utf-8"
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename="notes.txt"

            {Convert.ToBase64String(Encoding.UTF8.GetBytes("Notes: naïve résumé"))}
            --outer;b--
            The epilogue is not shown either.
            """;
        var m = Read(mail);
        Assert.Equal("Subject: nested\n\nPlain version.\n\nNotes: naïve résumé", m.Text);
        Assert.Equal(2, m.SkippedAttachments);
        Assert.Empty(m.Issues);
    }

    [Fact]
    public void AlternativeFallsBackToTheRicherPartWhenThePlainOneIsAStub()
    {
        var mail = """
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain

            e
            --b
            Content-Type: text/html

            <html><body><h1>Real title</h1><p>The real content of this mail is here.</p></body></html>
            --b--
            """;
        Assert.Equal("Real title\nThe real content of this mail is here.", Read(mail).Text);
    }

    [Fact]
    public void QuotedPrintableAndCharsets()
    {
        var qp = Read("""
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Caf=E9 cr=E8me =3D tasty, and a soft=
             break; smart =93quotes=94; =ZZ stays.
            """);
        // ISO-8859-1 is read as Windows-1252, so the 0x93/0x94 quotes survive.
        Assert.Equal("Café crème = tasty, and a soft break; smart \u201cquotes\u201d; =ZZ stays.", qp.Text);

        var cyrillic = Encoding.GetEncoding("koi8-r").GetBytes("Привет, мир");
        var koi = MailParser.Read([.. Ascii("Content-Type: text/plain; charset=\"KOI8-R\"\n\n"), .. cyrillic]);
        Assert.Equal("Привет, мир", koi.Text);

        var chinese = Encoding.GetEncoding("gb2312").GetBytes("你好世界");
        var gb = MailParser.Read([.. Ascii("Subject: =?gb2312?B?" + Convert.ToBase64String(chinese) + "?=\nContent-Type: text/plain; charset=GB2312_CHARSET\n\n"), .. chinese]);
        Assert.Equal("Subject: 你好世界\n\n你好世界", gb.Text);
        Assert.Empty(gb.Issues);

        // Raw 8-bit header in the body's charset (common in spam).
        var raw8 = MailParser.Read([.. Ascii("Subject: "), .. chinese, .. Ascii("\nContent-Type: text/plain; charset=gb2312\n\nx")]);
        Assert.Equal("你好世界", raw8.Subject);
    }

    [Fact]
    public void UnknownCharsetFallsBackToUtf8OrLatin1()
    {
        var latin = MailParser.Read([.. Ascii("Content-Type: text/plain; charset=x-no-such-charset\n\n"), .. Encoding.Latin1.GetBytes("Gr\u00fc\u00dfe")]);
        Assert.Equal("Grüße", latin.Text);
        var issue = Assert.Single(latin.Issues);
        Assert.Equal(MailProblem.UnknownCharset, issue.Problem);
        Assert.Contains("x-no-such-charset", issue.Detail);

        var utf8 = MailParser.Read([.. Ascii("Content-Type: text/plain; charset=x-no-such-charset\n\n"), .. Encoding.UTF8.GetBytes("Grüße")]);
        Assert.Equal("Grüße", utf8.Text);

        // No charset and 8-bit bytes: UTF-8 when valid, else Latin-1; never an exception, never U+FFFD.
        var none = MailParser.Read([.. Ascii("Subject: s\n\n"), .. new byte[] { 0xE9, (byte)'t', 0xE9 }]);
        Assert.Equal("Subject: s\n\nété", none.Text);
    }

    [Fact]
    public void HtmlPartsBecomeVisibleText()
    {
        var m = Read("""
            Content-Type: text/html; charset=utf-8

            <html><head><title>Offer</title><style>p { color: red }</style>
            <script>var x = "<p>hidden</p>";</script></head>
            <body>V<!-- x -->iagra &amp; more&nbsp;now!<br>Line&#32;two
            <table><tr><td>a</td><td>b</td></tr></table>
            <p>Price &lt; &#36;5 &eacute;</p> 3 < 4 </body></html>
            """);
        Assert.Equal("Offer\nViagra & more now!\nLine two\na b\nPrice < $5 é\n3 < 4", m.Text);

        // text/plain that is really an HTML document is read as HTML.
        Assert.Equal("Hello world", Read("Content-Type: text/plain\n\n  <HTML><body><b>Hello</b> world</body></HTML>").Text);
    }

    [Fact]
    public void MalformedMimeIsReadWithIssues()
    {
        var noBoundary = Read("""
            Subject: broken
            Content-Type: multipart/mixed; boundary="never-used"

            Just text, no parts.
            """);
        Assert.Equal("Subject: broken\n\nJust text, no parts.", noBoundary.Text);
        Assert.Equal([MailProblem.MissingBoundary], Problems(noBoundary));

        var noBoundaryParameter = Read("Content-Type: multipart/mixed\n\nText.");
        Assert.Equal("Text.", noBoundaryParameter.Text);
        Assert.Equal([MailProblem.MissingBoundary], Problems(noBoundaryParameter));

        var unterminated = Read("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            first
            --b

            second (no header, defaults to text/plain)
            """);
        Assert.Equal("first\n\nsecond (no header, defaults to text/plain)", unterminated.Text);
        Assert.Equal([MailProblem.UnterminatedMultipart], Problems(unterminated));

        var badHeaders = Read("Subject: no blank line\nthis line is not a header\nmore body");
        Assert.Equal("Subject: no blank line\n\nthis line is not a header\nmore body", badHeaders.Text);
        Assert.Equal([MailProblem.MalformedHeaders], Problems(badHeaders));

        var badBase64 = Read("Content-Transfer-Encoding: base64\n\n" + "SGVsbG8g!!d29y**bGQ" + "\n");
        Assert.Equal("Hello world", badBase64.Text);
        Assert.Equal([MailProblem.BadBase64], Problems(badBase64));

        var weirdType = Read("Content-Type: garbage\nContent-Transfer-Encoding: x-made-up\n\nstill text");
        Assert.Equal("still text", weirdType.Text);
    }

    [Fact]
    public void BinaryJunkIsLeftOutAndCounted()
    {
        var junk = new byte[2000];
        new Random(3).NextBytes(junk);
        var withJunkPart = MailParser.Read([.. Ascii("""
            Subject: junk
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            readable
            --b
            Content-Type: text/plain


            """), .. junk, .. Ascii("\n--b--\n")]);
        Assert.Equal("Subject: junk\n\nreadable", withJunkPart.Text);
        Assert.Equal([MailProblem.BinaryPart], Problems(withJunkPart));

        var pureJunk = MailParser.Read(junk);
        Assert.Equal("", pureJunk.Text);
        Assert.Contains(MailProblem.NoText, Problems(pureJunk));

        var empty = MailParser.Read([]);
        Assert.Equal("", empty.Text);
        Assert.Equal([MailProblem.NoText], Problems(empty));

        // Control characters inside otherwise fine text are dropped; CR, CRLF and LF all become LF.
        var controls = MailParser.Read(Encoding.Latin1.GetBytes("Subject: c\n\nab\u0001c\rline2\r\nline3, long enough to be text\u0000"));
        Assert.Equal("Subject: c\n\nabc\nline2\nline3, long enough to be text", controls.Text);
    }

    [Fact]
    public void DeepNestingIsCut()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 30; i++) sb.Append($"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n");
        sb.Append("Content-Type: text/plain\n\ndeep text\n");
        var m = Read(sb.ToString());
        Assert.Equal("", m.Text);
        Assert.Contains(MailProblem.TooDeep, Problems(m));
        Assert.Equal("deep text", MailParser.Read(Ascii(sb.ToString()), new MailReadOptions { MaxDepth = 40 }).Text);
    }

    [Fact]
    public void AttachedMessagesAreRead()
    {
        var m = Read("""
            Subject: Fwd: hello
            Content-Type: multipart/mixed; boundary=x

            --x
            Content-Type: text/plain

            See below.
            --x
            Content-Type: message/rfc822

            Subject: =?utf-8?Q?h=C3=A9llo?=
            From: a@b

            Inner body.
            --x--
            """);
        Assert.Equal("Subject: Fwd: hello\n\nSee below.\n\nSubject: héllo\n\nInner body.", m.Text);
    }

    /// <summary>Random damage to a well-formed mail (bytes flipped, cut, lines doubled) must never throw.</summary>
    [Fact]
    public void DamagedMailsNeverThrow()
    {
        var good = Ascii("""
            Subject: =?utf-8?B?w6k=?= =?iso-8859-1?Q?=E9?=
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: multipart/alternative; boundary=c

            --c
            Content-Type: text/plain; charset=koi8-r
            Content-Transfer-Encoding: quoted-printable

            =F0=D2=C9=D7=C5=D4 soft=
            break
            --c
            Content-Type: text/html

            <p>x &amp; <!-- y --> z</p>
            --c--
            --b
            Content-Type: message/rfc822

            Subject: inner
            Content-Transfer-Encoding: base64

            aGVsbG8=
            --b--
            """);
        var random = new Random(12345);
        var interesting = "=?-:;\"<>\r\n\0\x1b"u8.ToArray();
        for (int trial = 0; trial < 400; trial++)
        {
            var bytes = good.ToList();
            int edits = 1 + random.Next(8);
            for (int e = 0; e < edits && bytes.Count > 0; e++)
            {
                int at = random.Next(bytes.Count);
                switch (random.Next(4))
                {
                    case 0: bytes[at] = (byte)random.Next(256); break;
                    case 1: bytes[at] = interesting[random.Next(interesting.Length)]; break;
                    case 2: bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 40))); break;
                    default: bytes.InsertRange(at, bytes.Skip(at).Take(random.Next(1, 60)).ToList()); break;
                }
            }
            var m = MailParser.Read([.. bytes]);
            Assert.NotNull(m.Text);
            Assert.DoesNotContain('\r', m.Text);
        }
    }
}
