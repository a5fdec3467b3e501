import FoundationEssentials
import Glibc
import NSAuditLinux

/// Clocks for the timing lines on standard error (`route-get --timing`, nsaudit-bench).
public enum Timing {
    /// CPU time of the calling thread (the "one core" figure, independent of other load).
    public static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU time of the whole process, every thread (how much work a phase took, whatever
    /// else loads the machine).
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Milliseconds with one decimal.
    public static func ms(_ d: Duration) -> String { (seconds(d) * 1000).fixed(1) }
}

/// One line on standard error, prefixed `nsaudit: ` (progress, notes, warnings). Names from
/// the system in it are escaped (`String.terminalEscaped`): it stays one line.
func note(_ s: String) {
    try? StandardStream.error.write("nsaudit: \(s.terminalEscaped)\n")
}
