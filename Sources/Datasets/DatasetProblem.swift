/// Something wrong with a dataset file, found before training starts; every problem names its file.
public struct DatasetProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public init(_ file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// Several dataset problems, reported together.
public struct DatasetProblems: Error, Sendable, CustomStringConvertible {
    public let problems: [DatasetProblem]
    /// What the pass found in the files it could read, when it got that far (`unet dataset check` shows it).
    public let report: DatasetReport?

    public init(_ problems: [DatasetProblem], report: DatasetReport? = nil) {
        self.problems = problems
        self.report = report
    }

    public var description: String {
        "\(problems.count) dataset problem\(problems.count == 1 ? "" : "s"):\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
