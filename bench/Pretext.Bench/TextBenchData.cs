using Pretext.Encoders;
using Pretext.Data;
using Pretext.Runs;
using Pretext.Text;

namespace Pretext.Bench;

/// <summary>Token data for the text bench.</summary>
internal static class TextBenchData
{
    /// <summary>
    /// The SpamAssassin training mails tokenized by a byte-level BPE tokenizer trained on them (the default text
    /// pretraining's data) when the corpus is cached or installable; otherwise <see cref="Synthetic"/>.
    /// </summary>
    public static (TokenizedDataset Data, TextEncoderConfig Text) Load(int documents, TextEncoderConfig text)
    {
        try
        {
            using var fetcher = new DatasetFetcher(new DatasetFetcherOptions { Sources = DataSources.Cache | DataSources.SystemPackage });
            var train = fetcher.LoadText("spamassassin", DataSplit.Train).Dataset;
            var tokenizer = ByteLevelBpeTokenizer.Train(train.Texts, new BpeTokenizerOptions { VocabSize = text.VocabSize });
            var cfg = text.WithTokenizer(tokenizer, null);
            var docs = train.Subset(Enumerable.Range(0, Math.Min(documents, train.Count)).ToArray());
            return (TokenizedDataset.From(docs, tokenizer, cfg.MaxLength), cfg);
        }
        catch (IOException)
        {
            return (Synthetic(documents, text), text);
        }
    }

    /// <summary>
    /// Synthetic documents shaped like e-mails after tokenization: [CLS], Zipf-distributed word ids
    /// (exponent 1, as natural text roughly follows), [SEP]; lengths drawn so most fill the max length.
    /// </summary>
    public static TokenizedDataset Synthetic(int documents, TextEncoderConfig text, int seed = 0)
    {
        var rng = new Random(seed);
        int words = text.VocabSize - 5;
        var cdf = new double[words];
        double acc = 0;
        for (int i = 0; i < words; i++) { acc += 1.0 / (i + 1); cdf[i] = acc; }
        var rows = new int[documents][];
        for (int d = 0; d < documents; d++)
        {
            int len = Math.Min(text.MaxLength, 20 + (int)(rng.NextDouble() * 2.5 * text.MaxLength));
            var row = new int[len];
            row[0] = text.ClsId;
            for (int j = 1; j < len - 1; j++)
            {
                int k = Array.BinarySearch(cdf, rng.NextDouble() * acc);
                row[j] = 5 + (k < 0 ? ~k : k);
            }
            row[^1] = text.SepId;
            rows[d] = row;
        }
        return new TokenizedDataset("synthetic-zipf", rows, text.PadId, text.VocabSize, text.MaxLength);
    }
}
