using Pretext.Compute;

namespace Pretext.Tests.Compute;

public class CpuShareTests
{
    private const string Stat = "cpu  1000 50 300 8000 100 20 30 5 0 0\ncpu0 500 25 150 4000 50 10 15 3 0 0\nintr 12345\n";

    [Fact]
    public void ParsesTheAggregateLine()
    {
        var t = MachineCpuTimes.Parse(Stat);
        Assert.Equal(1000 + 50 + 300 + 20 + 30 + 5, t.Busy);   // user nice system irq softirq steal
        Assert.Equal(t.Busy + 8000 + 100, t.Total);            // plus idle and iowait
        Assert.Throws<FormatException>(() => MachineCpuTimes.Parse("intr 1\n"));
    }

    [Fact]
    public void OtherProcessesShareIsBusyTimeLessTheAccountedOverTheWindow()
    {
        // A 10 s window on 2 cores = 2,000 ticks. The machine was busy 1,200 ticks (12 s); the measured run reports 11 s and the
        // observer 0.2 s, so others took 0.8 s of the 20 core-seconds: 4 %.
        var before = new MachineCpuTimes(5000, 100000);
        var after = new MachineCpuTimes(6200, 102000);
        double share = CpuShare.Others(before, after, 11.2);
        Assert.Equal(0.04, share, 6);
        Assert.True(CpuShare.Keep(share, 0.05));
        Assert.False(CpuShare.Keep(share, 0.03));
    }

    [Fact]
    public void ABusyNeighbourIsDiscardedAndTickRoundingIsNotNegative()
    {
        // Another process kept one of the two cores busy through the window: half the machine.
        double busy = CpuShare.Others(new MachineCpuTimes(0, 0), new MachineCpuTimes(1900, 2000), 9.0);
        Assert.Equal(0.5, busy, 6);
        Assert.False(CpuShare.Keep(busy, 0.05));
        // The run reports a little more CPU than the ticks show (tick rounding): nobody else ran.
        Assert.Equal(0, CpuShare.Others(new MachineCpuTimes(0, 0), new MachineCpuTimes(1000, 2000), 10.04));
    }

    [Fact]
    public void ReadingsThatGoBackwardsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => CpuShare.Others(new MachineCpuTimes(10, 100), new MachineCpuTimes(5, 200), 0));
        Assert.Throws<ArgumentException>(() => CpuShare.Others(new MachineCpuTimes(10, 100), new MachineCpuTimes(10, 100), 0));
    }

    [Fact]
    public void ThisMachineCanBeRead()
    {
        if (!File.Exists("/proc/stat")) return;
        var t = MachineCpuTimes.Read()!;
        Assert.True(t.Busy > 0 && t.Total >= t.Busy);
    }
}
