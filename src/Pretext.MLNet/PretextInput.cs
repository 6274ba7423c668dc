namespace Pretext.MLNet;

/// <summary>What the featurizer's input column holds; each kind needs a checkpoint of its modality.</summary>
public enum PretextInput
{
    /// <summary>A text column of image file paths (PNG, JPEG, BMP, GIF), read as `pretext embed` reads an image folder's files.</summary>
    ImagePath,
    /// <summary>A text column of documents, read through the checkpoint's tokenizer (its first <c>encoder.text.maxLength</c> tokens).</summary>
    Text,
    /// <summary>
    /// A text column holding one table row as a CSV line (RFC 4180 quoting) of the checkpoint's feature columns in the order
    /// <see cref="PretextEmbeddingEstimator.TableColumns"/> lists them: numeric columns, then categorical ones, as `pretext serve`
    /// takes a row as an array. An empty field, '?', NA, N/A, null or NaN is a missing value, as in a table file.
    /// </summary>
    TableRow,
}
