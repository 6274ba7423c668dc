using System.Text;
using Pretext.Data;

namespace Pretext.Tests.Data;

public sealed class TextFilesTests
{
    private static void Write(string path, string text) => Write(path, Encoding.UTF8.GetBytes(text));

    private static void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void ClassFoldersGiveLabels()
    {
        using var dir = new TempDirectory();
        Write(dir.Combine("spam", "b.txt"), "buy now\r\nplease");
        Write(dir.Combine("spam", "deep", "a.txt"), "cheap pills");
        Write(dir.Combine("ham", "x.txt"), "\uFEFFmeeting at noon");
        Write(dir.Combine("ham", ".hidden.txt"), "ignored");
        Write(dir.Combine("ham", "empty.txt"), "  \n");
        var load = TextFiles.Load(dir.Path);
        var ds = load.Dataset;
        Assert.Equal(["ham", "spam"], ds.ClassNames);
        Assert.Equal(["meeting at noon", "buy now\nplease", "cheap pills"], ds.Texts);
        Assert.Equal([0, 1, 1], ds.Labels!);
        Assert.Equal(["ham/x.txt", "spam/b.txt", "spam/deep/a.txt"], ds.Sources!);
        Assert.Equal(["ham/empty.txt: empty file"], load.Skipped);

        var sub = ds.Subset([2, 0]);
        Assert.Equal(["cheap pills", "meeting at noon"], sub.Texts);
        Assert.Equal([1, 0], sub.Labels!);
        Assert.Equal(["spam/deep/a.txt", "ham/x.txt"], sub.Sources!);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Subset([3]));
    }

    [Fact]
    public void LinesAreDocuments()
    {
        using var dir = new TempDirectory();
        Write(dir.Combine("b.txt"), "first\r\n\r\n  \nsecond line\n");
        Write(dir.Combine("a.txt"), "only");
        var ds = TextFiles.Load(dir.Path, new TextFileOptions { Format = TextFileFormat.Lines }).Dataset;
        Assert.Null(ds.Labels);
        Assert.Empty(ds.ClassNames);
        Assert.Equal(["only", "first", "second line"], ds.Texts);
        Assert.Equal(["a.txt:1", "b.txt:1", "b.txt:4"], ds.Sources!);

        var single = TextFiles.Load(dir.Combine("b.txt"), new TextFileOptions { Format = TextFileFormat.Lines }).Dataset;
        Assert.Equal(2, single.Count);
    }

    [Fact]
    public void BadInputErrorsNameTheFileAndLine()
    {
        using var dir = new TempDirectory();
        Write(dir.Combine("u", "bad.txt"), [.. "line one\nline two\nline "u8, 0xE9, .. "t\xe9\n"u8]);
        var e = Assert.Throws<InvalidDataException>(() => TextFiles.Load(dir.Combine("u")));
        Assert.Contains("bad.txt' line 3 is not valid UTF-8", e.Message);

        Write(dir.Combine("mixed", "loose.txt"), "x");
        Write(dir.Combine("mixed", "class", "a.txt"), "y");
        Assert.Contains("mixes files", Assert.Throws<InvalidDataException>(() => TextFiles.Load(dir.Combine("mixed"))).Message);

        Directory.CreateDirectory(dir.Combine("emptyclass", "a"));
        Write(dir.Combine("emptyclass", "b", "x.txt"), "x");
        Assert.Contains("Class folder", Assert.Throws<InvalidDataException>(() => TextFiles.Load(dir.Combine("emptyclass"))).Message);

        Write(dir.Combine("blank", "x.txt"), " ");
        Assert.Contains("holds no document", Assert.Throws<InvalidDataException>(() => TextFiles.Load(dir.Combine("blank"))).Message);
        Assert.Throws<FileNotFoundException>(() => TextFiles.Load(dir.Combine("missing")));
    }

    [Fact]
    public void MailFoldersSkipUnreadableMailsAndCountProblems()
    {
        using var dir = new TempDirectory();
        Write(dir.Combine("ham", "1.eml"), "Subject: hi\n\nHello there.");
        Write(dir.Combine("ham", "2.eml"), "Subject: odd\nContent-Type: text/plain; charset=x-nope\n\nWeird charset.");
        var junk = new byte[500];
        new Random(1).NextBytes(junk);
        Write(dir.Combine("spam", "3.eml"), junk);
        Write(dir.Combine("spam", "4.eml"), "Subject: =?utf-8?Q?Win_=E2=82=AC?=\nContent-Type: text/html\n\n<b>Money</b>");
        var load = TextFiles.Load(dir.Path, new TextFileOptions { Format = TextFileFormat.Mail });
        Assert.Equal(["Subject: hi\n\nHello there.", "Subject: odd\n\nWeird charset.", "Subject: Win €\n\nMoney"], load.Dataset.Texts);
        Assert.Equal([0, 0, 1], load.Dataset.Labels!);
        Assert.Equal(["spam/3.eml: no readable text in the mail"], load.Skipped);
        Assert.Equal(1, load.MailProblems[MailProblem.UnknownCharset]);
        Assert.Equal(1, load.MailProblems[MailProblem.NoText]);

        var bodies = TextFiles.Load(dir.Path, new TextFileOptions { Format = TextFileFormat.Mail, Mail = new MailReadOptions { Headers = MailHeaders.None } });
        Assert.Equal("Hello there.", bodies.Dataset.Texts[0]);
    }

    [Fact]
    public void JsonLines()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("d.jsonl");
        Write(path, "{\"body\": \"a\\nb\", \"y\": 10}\n\n{\"body\": \"c\", \"y\": 2, \"extra\": [1]}\r\n{\"body\": \"d\", \"y\": 10}\n");
        var ds = TextFiles.LoadJsonLines(path, new JsonLinesOptions { TextField = "body", LabelField = "y" }).Dataset;
        Assert.Equal(["a\nb", "c", "d"], ds.Texts);
        Assert.Equal(["2", "10"], ds.ClassNames); // numbers sort as numbers
        Assert.Equal([1, 0, 1], ds.Labels!);
        Assert.Equal(["d.jsonl:1", "d.jsonl:3", "d.jsonl:4"], ds.Sources!);

        Write(path, "{\"text\": \"ok\", \"y\": \"b\"}\n{\"text\": \"ok\", \"y\": \"a\"}");
        var strings = TextFiles.LoadJsonLines(path, new JsonLinesOptions { LabelField = "y" }).Dataset;
        Assert.Equal(["a", "b"], strings.ClassNames);
        Assert.Equal([1, 0], strings.Labels!);
        Assert.Null(TextFiles.LoadJsonLines(path).Dataset.Labels);

        Write(path, "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": oops}\n");
        Assert.Contains("line 3 is not valid JSON", Assert.Throws<InvalidDataException>(() => TextFiles.LoadJsonLines(path)).Message);
        Write(path, "{\"txt\": \"ok\"}");
        Assert.Contains("line 1 has no field 'text' (it has: 'txt')", Assert.Throws<InvalidDataException>(() => TextFiles.LoadJsonLines(path)).Message);
        Write(path, "{\"text\": 5}");
        Assert.Contains("is a number, not a string", Assert.Throws<InvalidDataException>(() => TextFiles.LoadJsonLines(path)).Message);
        Write(path, "[1]");
        Assert.Contains("not an object", Assert.Throws<InvalidDataException>(() => TextFiles.LoadJsonLines(path)).Message);
        Write(path, "{\"text\": \"a\"}\n{\"text\": \"b\", \"y\": 1}");
        Assert.Contains("line 1 has no label field 'y'",
            Assert.Throws<InvalidDataException>(() => TextFiles.LoadJsonLines(path, new JsonLinesOptions { LabelField = "y" })).Message);
    }

    [Fact]
    public void CsvColumns()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("d.csv");
        Write(path, "id,Text,label\n1,\"multi\nline, with \"\"quotes\"\"\",spam\n2,plain,ham\n\n3,third,spam\n");
        var ds = TextFiles.LoadCsv(path, new CsvTextOptions { LabelColumn = "label" }).Dataset;
        Assert.Equal(["multi\nline, with \"quotes\"", "plain", "third"], ds.Texts);
        Assert.Equal(["ham", "spam"], ds.ClassNames);
        Assert.Equal([1, 0, 1], ds.Labels!);
        Assert.Equal(["d.csv:2", "d.csv:3", "d.csv:5"], ds.Sources!);

        var noHeader = TextFiles.LoadCsv(path, new CsvTextOptions { HasHeader = false, TextColumn = "1" }).Dataset;
        Assert.Equal(["Text", "multi\nline, with \"quotes\"", "plain", "third"], noHeader.Texts);

        Assert.Contains("no text column 'body'", Assert.Throws<InvalidDataException>(() => TextFiles.LoadCsv(path, new CsvTextOptions { TextColumn = "body" })).Message);
        Write(path, "text,label\nfine,a\nshort\n");
        Assert.Contains("record 3 has 1 fields", Assert.Throws<InvalidDataException>(() => TextFiles.LoadCsv(path, new CsvTextOptions { LabelColumn = "label" })).Message);
        Write(path, "text\n\"never closed\n");
        Assert.Contains("never closed", Assert.Throws<InvalidDataException>(() => TextFiles.LoadCsv(path)).Message);
    }
}
