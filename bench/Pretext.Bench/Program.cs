using Pretext.Core;
var a = args;
int[] P(string s) => s.Split('-').Select(int.Parse).ToArray();
Probe.Run(P(a[0]), P(a[1]), Enum.Parse<Precision>(a[2]), Enum.Parse<MemoryLayout>(a[3]), int.Parse(a[4]), int.Parse(a[5]), int.Parse(a[6]));
