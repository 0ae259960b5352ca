import Files
import Foundation
import SwiftProtobuf
import TensorBoardProto

/// Writes an events file TensorBoard reads, as `torch.utils.tensorboard.SummaryWriter` does: scalars, images and
/// text under tags, at steps. Each writer makes a new file in its folder,
/// `events.out.tfevents.<seconds>.<host>.<pid>.<n>`, which starts with the `brain.Event:2` version record; every
/// event is a TFRecord appended with one `write` call, so a running TensorBoard sees it at once and a crash loses at
/// most the event being written.
public final class SummaryWriter {
    /// The events file.
    public let path: String
    private let file: AppendingFile
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    /// A new events file in `logDirectory` (created if missing). With `startStep`, the file first records a
    /// session start at that step (`SessionLog.START`): TensorBoard then drops what earlier files logged from that
    /// step on (what a run wrote after the checkpoint it resumes from), so resumed runs never show a step twice.
    /// - Throws: `FileError` naming the folder or file.
    public init(logDirectory: String, startStep: Int? = nil) throws {
        do {
            try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw FileError(logDirectory, "cannot create the TensorBoard folder: \(FileError.reason(of: error))")
        }
        let sequence = Self.lock.withLock {
            Self.counter += 1
            return Self.counter
        }
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        let seconds = Int(Date().timeIntervalSince1970)
        let name = "events.out.tfevents.\(seconds).\(host).\(ProcessInfo.processInfo.processIdentifier).\(sequence)"
        path = (logDirectory as NSString).appendingPathComponent(name)
        file = try AppendingFile(path: path)
        var version = Tensorboard_Event()
        version.wallTime = Date().timeIntervalSince1970
        version.fileVersion = "brain.Event:2"
        try write(version)
        if let startStep {
            var start = Tensorboard_Event()
            start.wallTime = Date().timeIntervalSince1970
            start.step = Int64(startStep)
            start.sessionLog.status = .start
            try write(start)
        }
    }

    /// `value` under `tag` at `step` (`add_scalar`).
    public func addScalar(_ tag: String, _ value: Double, step: Int) throws {
        var entry = Tensorboard_Summary.Value()
        entry.tag = tag
        entry.simpleValue = Float(value)
        try write([entry], step: step)
    }

    /// A PNG image under `tag` at `step` (`add_image`); `channels`: 1 gray, 3 RGB, 4 RGBA.
    public func addImage(_ tag: String, png: [UInt8], width: Int, height: Int, channels: Int, step: Int) throws {
        var image = Tensorboard_Summary.Image()
        image.width = Int32(clamping: width)
        image.height = Int32(clamping: height)
        image.colorspace = Int32(clamping: channels)
        image.encodedImageString = Data(png)
        var entry = Tensorboard_Summary.Value()
        entry.tag = tag
        entry.image = image
        try write([entry], step: step)
    }

    /// Markdown text under `tag` at `step` (`add_text`: the text plugin's string tensor).
    public func addText(_ tag: String, _ text: String, step: Int) throws {
        var tensor = Tensorboard_TensorProto()
        tensor.dtype = .dtString
        tensor.tensorShape = Tensorboard_TensorShapeProto()
        tensor.stringVal = [Data(text.utf8)]
        var entry = Tensorboard_Summary.Value()
        entry.tag = tag
        entry.metadata.pluginData.pluginName = "text"
        entry.tensor = tensor
        try write([entry], step: step)
    }

    private func write(_ values: [Tensorboard_Summary.Value], step: Int) throws {
        var event = Tensorboard_Event()
        event.wallTime = Date().timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = values
        try write(event)
    }

    private func write(_ event: Tensorboard_Event) throws {
        let bytes: [UInt8] = try event.serializedBytes()
        try file.append(Data(TFRecord.frame(bytes)))
    }
}
