using static TorchSharp.torch;

namespace Pretext.Data.Tables;

/// <summary>
/// Rows of a table in source form: numeric features (NaN: missing), categorical features as strings (null: missing), the label,
/// the entity and an id per row. Encodings (<see cref="TableEncoding"/>) are fitted on a training part and applied to any part.
/// </summary>
public sealed class TableRows
{
    private readonly float[] numeric;
    private readonly string?[] categorical;

    /// <param name="values">N x NumericNames.Length numbers, row-major, NaN for missing.</param>
    /// <param name="categories">N x CategoricalNames.Length values, row-major, null for missing.</param>
    /// <param name="declaredValues">Per categorical column, its declared values in order (ARFF nominal, booleans), or empty.</param>
    public TableRows(string name, string[] numericNames, string[] categoricalNames, string[][] declaredValues, float[] values, string?[] categories,
        int[]? labels, IReadOnlyList<string> classNames, string[] ids, string[]? entities)
    {
        Name = name;
        NumericNames = numericNames;
        CategoricalNames = categoricalNames;
        DeclaredValues = declaredValues;
        numeric = values;
        categorical = categories;
        Labels = labels;
        ClassNames = classNames;
        Ids = ids;
        Entities = entities;
        if (values.Length != ids.Length * numericNames.Length || categories.Length != ids.Length * categoricalNames.Length)
            throw new ArgumentException($"Table '{name}': cell arrays do not match {ids.Length} rows.");
    }

    public string Name { get; }
    public int Count => Ids.Length;
    public string[] NumericNames { get; }
    public string[] CategoricalNames { get; }
    public string[][] DeclaredValues { get; }
    public int[]? Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public string[] Ids { get; }
    public string[]? Entities { get; }

    public float Numeric(int row, int column) => numeric[row * NumericNames.Length + column];
    public string? Category(int row, int column) => categorical[row * CategoricalNames.Length + column];

    /// <summary>The rows at <paramref name="indices"/>, in that order.</summary>
    public TableRows Subset(IReadOnlyList<long> indices, string name)
    {
        int nn = NumericNames.Length, nc = CategoricalNames.Length;
        var v = new float[indices.Count * nn];
        var c = new string?[indices.Count * nc];
        for (int k = 0; k < indices.Count; k++)
        {
            int i = checked((int)indices[k]);
            Array.Copy(numeric, i * nn, v, k * nn, nn);
            Array.Copy(categorical, i * nc, c, k * nc, nc);
        }
        return new TableRows(name, NumericNames, CategoricalNames, DeclaredValues, v, c,
            Labels is null ? null : [.. indices.Select(i => Labels[i])], ClassNames, [.. indices.Select(i => Ids[i])],
            Entities is null ? null : [.. indices.Select(i => Entities[i])]);
    }

    /// <summary>
    /// The rows of <paramref name="parts"/> one after another (a data set shipped as a training file and a test file), each part's ids
    /// prefixed with its name and a colon so that line numbers of different files stay apart ("segment-test:110").
    /// </summary>
    /// <exception cref="InvalidDataException">The parts differ in their columns, declared values, classes, or in having labels or entities.</exception>
    public static TableRows Concat(string name, IReadOnlyList<(string Name, TableRows Rows)> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("No parts to join.", nameof(parts));
        var first = parts[0].Rows;
        foreach (var (partName, r) in parts.Skip(1))
        {
            string? differs =
                !r.NumericNames.SequenceEqual(first.NumericNames) || !r.CategoricalNames.SequenceEqual(first.CategoricalNames) ? "columns"
                : r.DeclaredValues.Length != first.DeclaredValues.Length || r.DeclaredValues.Zip(first.DeclaredValues).Any(p => !p.First.SequenceEqual(p.Second)) ? "declared category values"
                : !r.ClassNames.SequenceEqual(first.ClassNames) ? "classes"
                : (r.Labels is null) != (first.Labels is null) ? "label column"
                : (r.Entities is null) != (first.Entities is null) ? "entity column"
                : null;
            if (differs is not null)
                throw new InvalidDataException($"'{partName}' and '{parts[0].Name}' of '{name}' have different {differs}; the parts of one data set must share them.");
        }
        return new TableRows(name, first.NumericNames, first.CategoricalNames, first.DeclaredValues,
            [.. parts.SelectMany(p => p.Rows.numeric)], [.. parts.SelectMany(p => p.Rows.categorical)],
            first.Labels is null ? null : [.. parts.SelectMany(p => p.Rows.Labels!)], first.ClassNames,
            [.. parts.SelectMany(p => p.Rows.Ids.Select(id => $"{p.Name}:{id}"))],
            first.Entities is null ? null : [.. parts.SelectMany(p => p.Rows.Entities!)]);
    }
}

/// <summary>
/// How rows become encoder input, fitted on training rows only and kept in the run's config and every checkpoint. One row encodes
/// as (F) = (2 Nn + Nc) floats: the Nn numeric features standardised with the training mean and std (a missing value reads as the
/// mean, 0), then Nn missing indicators (1: missing), then one code per categorical column: 0 for a missing value or one never
/// seen in training (the unknown bucket), 1..V for the training vocabulary.
/// </summary>
public sealed record TableEncoding
{
    public string[] NumericNames { get; init; } = [];
    public float[] Mean { get; init; } = [];
    public float[] Std { get; init; } = [];
    public string[] CategoricalNames { get; init; } = [];
    /// <summary>Per categorical column, its values in code order (code = index + 1).</summary>
    public string[][] Vocabularies { get; init; } = [];

    /// <summary>Input width F.</summary>
    public int Width => 2 * NumericNames.Length + CategoricalNames.Length;
    /// <summary>Codes per categorical column, the unknown bucket included (the embedding tables' sizes).</summary>
    public int[] Cardinalities => [.. Vocabularies.Select(v => v.Length + 1)];

    /// <summary>Means and stds of the present numeric values and the vocabulary of the categories seen in <paramref name="train"/>.</summary>
    public static TableEncoding Fit(TableRows train)
    {
        int nn = train.NumericNames.Length, nc = train.CategoricalNames.Length;
        var mean = new float[nn];
        var std = new float[nn];
        for (int k = 0; k < nn; k++)
        {
            double s = 0, s2 = 0;
            int m = 0;
            for (int i = 0; i < train.Count; i++)
            {
                double v = train.Numeric(i, k);
                if (double.IsNaN(v)) continue;
                s += v; s2 += v * v; m++;
            }
            double mu = m > 0 ? s / m : 0, var = m > 1 ? Math.Max(0, (s2 - m * mu * mu) / (m - 1)) : 0;
            mean[k] = (float)mu;
            // A constant column carries no information; a std of 1 keeps it at 0 instead of dividing by 0.
            std[k] = var > 1e-12 ? (float)Math.Sqrt(var) : 1f;
        }
        var vocab = new string[nc][];
        for (int k = 0; k < nc; k++)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < train.Count; i++)
                if (train.Category(i, k) is { } v) seen.Add(v);
            var declared = train.DeclaredValues[k];
            vocab[k] = declared.Length > 0 ? [.. declared.Where(seen.Contains)] : [.. seen.Order(StringComparer.Ordinal)];
        }
        return new TableEncoding { NumericNames = train.NumericNames, Mean = mean, Std = std, CategoricalNames = train.CategoricalNames, Vocabularies = vocab };
    }

    /// <summary>(N, F) fp32 encoding of <paramref name="rows"/>.</summary>
    /// <exception cref="InvalidDataException">The rows have other feature columns than the training rows.</exception>
    public Tensor Apply(TableRows rows)
    {
        if (!rows.NumericNames.SequenceEqual(NumericNames) || !rows.CategoricalNames.SequenceEqual(CategoricalNames))
            throw new InvalidDataException($"'{rows.Name}' has numeric columns ({string.Join(", ", rows.NumericNames)}) and categorical columns ({string.Join(", ", rows.CategoricalNames)}); " +
                $"the model was fitted on ({string.Join(", ", NumericNames)}) and ({string.Join(", ", CategoricalNames)}). Give it a table with the same columns and types.");
        int nn = NumericNames.Length, nc = CategoricalNames.Length, f = Width;
        var codes = Vocabularies.Select(v => v.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i + 1, StringComparer.Ordinal)).ToArray();
        var x = new float[rows.Count * f];
        for (int i = 0; i < rows.Count; i++)
        {
            int o = i * f;
            for (int k = 0; k < nn; k++)
            {
                float v = rows.Numeric(i, k);
                if (float.IsNaN(v)) x[o + nn + k] = 1f;
                else x[o + k] = (v - Mean[k]) / Std[k];
            }
            for (int k = 0; k < nc; k++)
                x[o + 2 * nn + k] = rows.Category(i, k) is { } v && codes[k].TryGetValue(v, out var code) ? code : 0;
        }
        return tensor(x, [rows.Count, f]);
    }
}

/// <summary>How a table is read and encoded (table runs; the fitted encoding travels with checkpoints).</summary>
public sealed record TableDataConfig
{
    /// <summary>The columns of a file (a catalogued data set's preset fills in its own).</summary>
    public TableColumns Columns { get; init; } = new();
    /// <summary>
    /// Same-entity positives: contrastive pretraining (SCARF) pairs each row with a corrupted copy of another row of the same entity
    /// (<see cref="TableColumns.Entity"/>; the row itself when its entity has one row) instead of a corrupted copy of itself. Off by default.
    /// </summary>
    public bool EntityPositives { get; init; }
    /// <summary>The encoding fitted on the training rows; null until pretraining fits it.</summary>
    public TableEncoding? Encoding { get; init; }
}
