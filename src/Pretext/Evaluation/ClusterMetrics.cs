namespace Pretext.Evaluation;

/// <summary>
/// Agreement between a clustering and the true classes, invariant to how clusters are numbered. Both
/// computed from the contingency table n_ij (samples of class i in cluster j).
/// </summary>
public static class ClusterMetrics
{
    /// <summary>
    /// Normalised mutual information I(Y; C) / ((H(Y) + H(C)) / 2) (arithmetic-mean normalisation,
    /// scikit-learn's default), in [0, 1]. Two single-cluster labelings agree perfectly (1).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ or are zero.</exception>
    public static double NormalizedMutualInformation(int[] truth, int[] clusters)
    {
        var (table, rows, cols, n) = Contingency(truth, clusters);
        if (rows.Length == 1 && cols.Length == 1) return 1.0;
        double hTruth = Entropy(rows, n), hClusters = Entropy(cols, n);
        double mi = 0;
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < cols.Length; j++)
            {
                long nij = table[i, j];
                if (nij == 0) continue;
                mi += (double)nij / n * Math.Log((double)nij * n / ((double)rows[i] * cols[j]));
            }
        double denominator = (hTruth + hClusters) / 2;
        // Guard rounding: MI can exceed the mean entropy by an ulp when the labelings are identical.
        return denominator <= 0 ? 0 : Math.Clamp(mi / denominator, 0, 1);
    }

    /// <summary>
    /// Adjusted Rand index (Hubert and Arabie 1985): pair-counting agreement corrected for chance,
    /// 1 for identical partitions, about 0 for independent ones, negative below chance.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ or are zero.</exception>
    public static double AdjustedRandIndex(int[] truth, int[] clusters)
    {
        var (table, rows, cols, n) = Contingency(truth, clusters);
        if (n < 2) return 1.0;   // one sample: every partition of it is the same
        static double Pairs(long m) => m * (m - 1) / 2.0;
        double index = 0;
        foreach (var nij in table) index += Pairs(nij);
        double sumRows = rows.Sum(Pairs), sumCols = cols.Sum(Pairs);
        double expected = sumRows * sumCols / Pairs(n);
        double max = (sumRows + sumCols) / 2;
        // Both partitions all-in-one or all-singletons: identical by construction, the formula is 0/0.
        if (max == expected) return 1.0;
        return (index - expected) / (max - expected);
    }

    private static double Entropy(long[] counts, long n)
    {
        double h = 0;
        foreach (var c in counts) if (c > 0) h -= (double)c / n * Math.Log((double)c / n);
        return h;
    }

    private static (long[,] Table, long[] Rows, long[] Cols, long N) Contingency(int[] truth, int[] clusters)
    {
        if (truth.Length != clusters.Length || truth.Length == 0)
            throw new ArgumentException($"Need equally many labels and cluster assignments, at least one (got {truth.Length} and {clusters.Length}).");
        var rowIndex = truth.Distinct().Order().Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
        var colIndex = clusters.Distinct().Order().Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
        var table = new long[rowIndex.Count, colIndex.Count];
        var rows = new long[rowIndex.Count];
        var cols = new long[colIndex.Count];
        for (int k = 0; k < truth.Length; k++)
        {
            int i = rowIndex[truth[k]], j = colIndex[clusters[k]];
            table[i, j]++; rows[i]++; cols[j]++;
        }
        return (table, rows, cols, truth.Length);
    }

    /// <summary>
    /// Mean silhouette (Rousseeuw 1987) of the rows of <paramref name="x"/> (N, D) under <paramref name="clusters"/>, Euclidean: per row
    /// s = (b - a) / max(a, b), a its mean distance to the other rows of its cluster, b the smallest mean distance to another cluster's
    /// rows; 0 for a row alone in its cluster (scikit-learn's convention). In [-1, 1], higher is better separated. Distances are
    /// computed in chunks of <paramref name="chunk"/> rows (O(N^2) time, O(chunk N) memory).
    /// </summary>
    /// <exception cref="ArgumentException">Another number of assignments than rows, or fewer than two clusters.</exception>
    public static double Silhouette(TorchSharp.torch.Tensor x, int[] clusters, int chunk = 1024)
    {
        if (x.dim() != 2 || x.shape[0] != clusters.Length) throw new ArgumentException($"Silhouette needs one cluster per row of a (N, D) matrix; got [{string.Join(",", x.shape)}] and {clusters.Length}.");
        var ids = clusters.Distinct().Order().ToArray();
        if (ids.Length < 2) throw new ArgumentException("Silhouette needs at least two clusters.");
        var index = ids.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        int n = clusters.Length, k = ids.Length;
        var member = clusters.Select(c => index[c]).ToArray();
        var sizes = new double[k];
        foreach (var m in member) sizes[m]++;
        using var scope = TorchSharp.torch.NewDisposeScope();
        var data = x.to(TorchSharp.torch.ScalarType.Float64);
        var oneHot = TorchSharp.torch.nn.functional.one_hot(TorchSharp.torch.tensor(member.Select(m => (long)m).ToArray()), k).to(TorchSharp.torch.ScalarType.Float64);
        double total = 0;
        for (int start = 0; start < n; start += chunk)
        {
            int len = Math.Min(chunk, n - start);
            using var inner = TorchSharp.torch.NewDisposeScope();
            // Summed distance of each row of the chunk to every cluster's rows: (len, N) distances times (N, k) membership.
            var sums = TorchSharp.torch.cdist(data.narrow(0, start, len), data).matmul(oneHot).data<double>().ToArray();
            for (int r = 0; r < len; r++)
            {
                int own = member[start + r];
                if (sizes[own] <= 1) continue;
                double a = sums[r * k + own] / (sizes[own] - 1), b = double.PositiveInfinity;
                for (int c = 0; c < k; c++)
                    if (c != own && sizes[c] > 0) b = Math.Min(b, sums[r * k + c] / sizes[c]);
                double m = Math.Max(a, b);
                total += m > 0 ? (b - a) / m : 0;
            }
        }
        return total / n;
    }
}
