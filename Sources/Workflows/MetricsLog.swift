import Files
import Foundation

/// The training metrics log: one JSON object per line (`metrics.jsonl`), steps as
/// `{"kind": "step", ...}` and validations as `{"kind": "validation", ...}`. Appended as training goes (never
/// through a symbolic link, every write checked: a full disk stops training with the file named); a resumed
/// run first drops the lines after its checkpoint's step, rewriting the log atomically, so the log reads as
/// one uninterrupted run.
final class MetricsLog {
    let path: String
    private var file: AppendingFile
    private let encoder = JSONEncoder()

    /// - Throws: `FileError` when the log is a symbolic link, not a regular file, or cannot be opened.
    init(path: String) throws {
        self.path = path
        file = try AppendingFile(path: path)
        encoder.outputFormatting = [.sortedKeys]
    }

    func write(_ record: TrainingStepRecord) throws { try append("step", record) }

    func write(_ record: ValidationRecord) throws { try append("validation", record) }

    private func append<T: Encodable>(_ kind: String, _ record: T) throws {
        var json = try encoder.encode(record)
        guard json.last == UInt8(ascii: "}") else { return }
        json.removeLast()
        try file.append(Data("{\"kind\":\"\(kind)\",".utf8) + json.dropFirst() + Data("}\n".utf8))
    }

    /// Keeps only the records up to `step`: the kept lines are written to a new file that replaces the log.
    func truncate(after step: Int) throws {
        let text = String(decoding: try FileContents.read(path, limit: TextFile.sizeLimit * 16), as: UTF8.self)
        let kept = TextFile.lines(text).filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let s = object["step"] as? Int
            else { return false }
            return s <= step
        }
        try AtomicFile.write(kept.map { $0 + "\n" }.joined(), to: path)
        file = try AppendingFile(path: path)
    }

    /// Every record of the log at `path`, parsed, for the plot.
    static func read(_ path: String) -> [[String: Any]] {
        parse(((try? FileContents.read(path, limit: TextFile.sizeLimit * 16)).map { String(decoding: $0, as: UTF8.self) }) ?? "")
    }

    /// Every line of `text` that is a JSON object.
    static func parse(_ text: String) -> [[String: Any]] {
        TextFile.lines(text).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
