import Foundation
import TensorBoard
import TensorBoardProto

/// Reads an events file back: every record's framing checked (both masked CRCs), each decoded as an `Event`.
public enum EventFile {
    public struct Corrupt: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ path: String) throws -> [Tensorboard_Event] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var events: [Tensorboard_Event] = []
        var offset = 0
        func uint32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw Corrupt(description: "truncated header at \(offset)") }
            let header = Array(bytes[offset..<offset + 8])
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(header[$1]) << (8 * $1) })
            guard uint32(offset + 8) == CRC32C.masked(CRC32C.checksum(header)) else { throw Corrupt(description: "length CRC at \(offset)") }
            let start = offset + 12
            guard start + length + 4 <= bytes.count else { throw Corrupt(description: "truncated record at \(offset)") }
            let data = Array(bytes[start..<start + length])
            guard uint32(start + length) == CRC32C.masked(CRC32C.checksum(data)) else { throw Corrupt(description: "data CRC at \(offset)") }
            events.append(try Tensorboard_Event(serializedBytes: data))
            offset = start + length + 4
        }
        return events
    }

    /// Every scalar as (tag, step, value), in file order.
    public static func scalars(_ events: [Tensorboard_Event]) -> [(tag: String, step: Int, value: Float)] {
        events.flatMap { event in
            event.summary.value.compactMap { value in
                if case .simpleValue(let v) = value.value { (value.tag, Int(event.step), v) } else { nil }
            }
        }
    }
}
