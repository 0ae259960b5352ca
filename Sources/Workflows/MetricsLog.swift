import Foundation

/// The training metrics log: one JSON object per line (`metrics.jsonl`), steps as
/// `{"kind": "step", ...}` and validations as `{"kind": "validation", ...}`. Appended as training goes; a resumed
/// run first drops the lines after its checkpoint's step, so the log reads as one uninterrupted run.
final class MetricsLog {
    let path: String
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    func write(_ record: TrainingStepRecord) throws { append("step", record) }

    func write(_ record: ValidationRecord) { append("validation", record) }

    private func append<T: Encodable>(_ kind: String, _ record: T) {
        guard var json = try? encoder.encode(record), json.last == UInt8(ascii: "}") else { return }
        json.removeLast()
        let line = Data("{\"kind\":\"\(kind)\",".utf8) + json.dropFirst() + Data("}\n".utf8)
        handle.write(line)
    }

    /// Keeps only the records up to `step`.
    func truncate(after step: Int) throws {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let kept = text.split(separator: "\n").filter { line in
            guard let data = line.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let s = object["step"] as? Int
            else { return false }
            return s <= step
        }
        let content = kept.map { $0 + "\n" }.joined()
        try handle.truncate(atOffset: 0)
        handle.write(Data(content.utf8))
    }

    /// Every record, parsed, for the plot.
    static func read(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
