import Foundation

/// A one-line progress bar on a terminal (redrawn in place), or plain lines every few seconds when standard
/// error is not a terminal (logs, CI).
final class ProgressDisplay {
    private let interactive = isatty(STDERR_FILENO) != 0
    /// Shows nothing (the ranks of an MPI job other than 0).
    private let quiet: Bool
    private var lastPlain = Date.distantPast
    private var drawn = false

    init(quiet: Bool = false) { self.quiet = quiet }

    /// Shows `fraction` done with a label and details; plain mode prints at most every `interval` seconds.
    func update(fraction: Double, label: String, details: String, interval: TimeInterval = 5) {
        if interactive {
            let width = 28
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "█", count: min(filled, width)) + String(repeating: "·", count: max(width - filled, 0))
            write("\r\u{1B}[2K\(label) \(bar) \(details)")
            drawn = true
        } else if Date().timeIntervalSince(lastPlain) >= interval || fraction >= 1 {
            lastPlain = Date()
            write("\(label) \(details)\n")
        }
    }

    /// Prints a full line above the bar.
    func message(_ text: String) {
        if interactive && drawn { write("\r\u{1B}[2K") }
        write(text + "\n")
    }

    /// Ends the bar's line.
    func finish() {
        if interactive && drawn { write("\n") }
        drawn = false
    }

    private func write(_ text: String) { if !quiet { Console.write(text) } }
}

/// Formats seconds as `1h02m`, `3m05s` or `12s`.
func durationText(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
