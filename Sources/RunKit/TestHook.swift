// TestHook: pause points for crash tests. With RLHF_TEST_PAUSE_AT=<point> or <point>:<step> in
// the environment, `pause` writes "RLHF_TEST_PAUSED <value>" to stderr and sleeps (10 minutes at
// most), so a test can SIGKILL the process exactly there. Without the variable it does nothing.
// Leaves out any other use: production code never sets the variable.
import Foundation

public enum TestHook {
    public static let variable = "RLHF_TEST_PAUSE_AT"

    /// Pauses when the variable names `point` (any step) or `point:step`.
    public static func pause(_ point: String, step: Int? = nil) {
        guard let want = ProcessInfo.processInfo.environment[variable] else { return }
        guard want == point || (step.map { want == "\(point):\($0)" } ?? false) else { return }
        FileHandle.standardError.write(Data("RLHF_TEST_PAUSED \(want)\n".utf8))
        Thread.sleep(forTimeInterval: 600)
    }
}
