using TorchSharp;
using static TorchSharp.torch;

namespace Pretext.Losses;

/// <summary>
/// DINO's self-distillation loss (Caron et al. 2021, section 3.1, eq. 3-4 and Algorithm 1): the teacher's
/// outputs on the global crops, centred (minus the running centre c) and sharpened (temperature tau_t),
/// are targets for the student's outputs (temperature tau_s) on every other crop:
/// loss = mean over pairs (teacher crop i, student crop v != i) of
/// mean_b -sum_k softmax((t_i[b] - c) / tau_t)_k log softmax(s_v[b] / tau_s)_k.
/// Centring keeps one dimension from dominating; sharpening keeps the output from going uniform; the
/// two together avoid collapse (section 3.1, "avoiding collapse").
/// </summary>
public sealed class DinoLoss
{
    /// <param name="studentTemperature">tau_s (paper: 0.1).</param>
    public DinoLoss(double studentTemperature = 0.1)
    {
        if (!(studentTemperature > 0) || double.IsInfinity(studentTemperature))
            throw new ArgumentOutOfRangeException(nameof(studentTemperature), studentTemperature, "The student temperature must be a positive finite number.");
        StudentTemperature = studentTemperature;
    }

    public double StudentTemperature { get; }

    /// <summary>Loss of one batch. Returns a scalar (fp32).</summary>
    /// <param name="student">V tensors (B, K): the student's outputs on every crop, global crops first.</param>
    /// <param name="teacher">G tensors (B, K), G &lt;= V: the teacher's outputs on the global crops 0..G-1 (constants).</param>
    /// <param name="center">(1, K) or (K) running centre of the teacher outputs.</param>
    /// <param name="teacherTemperature">tau_t at this step (paper: 0.04 warming up to 0.07).</param>
    /// <exception cref="ArgumentException">No pairs to compare, mismatched shapes, or a bad temperature.</exception>
    public Tensor Compute(IReadOnlyList<Tensor> student, IReadOnlyList<Tensor> teacher, Tensor center, double teacherTemperature)
    {
        if (!(teacherTemperature > 0) || double.IsInfinity(teacherTemperature))
            throw new ArgumentOutOfRangeException(nameof(teacherTemperature), teacherTemperature, "The teacher temperature must be a positive finite number.");
        if (teacher.Count < 1 || student.Count < 2 || teacher.Count > student.Count)
            throw new ArgumentException($"DINO compares teacher global crops with the student's other crops: needs 1 <= teacher crops <= student crops and at least 2 student crops, got {teacher.Count} and {student.Count}.");
        foreach (var t in student.Concat(teacher))
            if (t.dim() != 2 || !t.shape.SequenceEqual(student[0].shape))
                throw new ArgumentException($"Student and teacher outputs must all be (B, K) of one shape; got [{LossChecks.Shape(student[0])}] and [{LossChecks.Shape(t)}].");
        long k = student[0].shape[1];
        if (center.numel() != k) throw new ArgumentException($"The centre has {center.numel()} entries; the outputs have K = {k}.");

        using var scope = NewDisposeScope();
        var c = center.detach().to(ScalarType.Float32).reshape(1, k);
        var targets = teacher.Select(t => t.detach().to(ScalarType.Float32).sub(c).div_(teacherTemperature).softmax(1)).ToArray();
        var logProbs = student.Select(s => s.to(ScalarType.Float32).div(StudentTemperature).log_softmax(1)).ToArray();
        var total = zeros(1, dtype: ScalarType.Float32);
        int pairs = 0;
        for (int i = 0; i < targets.Length; i++)
            for (int v = 0; v < logProbs.Length; v++)
            {
                if (v == i) continue;
                total = total.sub(targets[i].mul(logProbs[v]).sum(1).mean());
                pairs++;
            }
        return total.div(pairs).squeeze().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Moves <paramref name="center"/> (1, K) in place towards the batch mean of the teacher outputs:
    /// c = m c + (1 - m) mean over all teacher crops and samples (paper eq. 4; m = 0.9).
    /// </summary>
    /// <exception cref="ArgumentException">No teacher outputs, a shape mismatch, or m outside [0, 1].</exception>
    public static void UpdateCenter(Tensor center, IReadOnlyList<Tensor> teacher, double momentum)
    {
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "The centre momentum must lie in [0, 1].");
        if (teacher.Count == 0) throw new ArgumentException("The centre update needs at least one teacher output.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var all = cat(teacher.Select(t => t.detach().to(ScalarType.Float32)).ToArray(), 0);
        if (all.dim() != 2 || all.shape[1] != center.numel())
            throw new ArgumentException($"Teacher outputs [{LossChecks.Shape(all)}] do not match a centre of {center.numel()} entries.");
        center.mul_(momentum).add_(all.mean([0L]).view(center.shape), alpha: 1 - momentum);
    }
}
