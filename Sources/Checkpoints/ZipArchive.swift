/// A read-only ZIP archive held in memory, as `torch.save` writes it: stored (uncompressed) entries,
/// sizes in the central directory (local headers may defer them to data descriptors), zip64 end records.
/// Each entry's CRC-32 is checked when it is read. Nothing is ever extracted to disk, and compressed entries
/// are refused, so neither path traversal nor a zip bomb can do harm.
public struct ZipArchive {
    public struct Entry: Sendable {
        public let name: String
        public let method: Int
        public let crc: UInt32
        public let compressedSize: Int
        public let size: Int
        public let localHeaderOffset: Int
    }

    let bytes: [UInt8]
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let index: [String: Int]

    /// Why an archive cannot be read; the caller adds the file name.
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    static func isZip(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    /// Reads the central directory.
    /// - Throws: `Failure` for a truncated or corrupt archive.
    public init(_ bytes: [UInt8]) throws(Failure) {
        self.bytes = bytes
        do throws(any Error) {
            let (count, directoryOffset) = try Self.findCentralDirectory(bytes)
            var reader = ByteReader(bytes, offset: directoryOffset)
            var entries: [Entry] = []
            for _ in 0..<count { entries.append(try Self.readDirectoryEntry(&reader)) }
            self.entries = entries
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: "truncated or corrupt zip archive")
        }
        index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The bytes of entry `name`, or nil if there is none.
    /// - Throws: `Failure` for a compressed entry, one that extends past the end, or a CRC mismatch.
    public func contents(of name: String) throws(Failure) -> [UInt8]? {
        guard let i = index[name] else { return nil }
        let entry = entries[i]
        guard entry.method == 0 else {
            throw Failure(reason: "entry \(CheckpointError.quote(name)) is compressed (method \(entry.method)); torch.save stores entries uncompressed")
        }
        do throws(any Error) {
            var reader = ByteReader(bytes, offset: entry.localHeaderOffset)
            guard try reader.uint32() == 0x0403_4B50 else { throw Failure(reason: "corrupt zip: bad local header for \(CheckpointError.quote(name))") }
            _ = try reader.take(22)
            let nameLength = try reader.uint16()
            let extraLength = try reader.uint16()
            _ = try reader.take(nameLength + extraLength)
            let data = Array(try reader.take(entry.size))
            guard CRC32.checksum(data) == entry.crc else { throw Failure(reason: "corrupt zip: CRC mismatch in \(CheckpointError.quote(name))") }
            return data
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: "truncated zip archive: entry \(CheckpointError.quote(name)) extends past the end")
        }
    }

    /// Entry count and central-directory offset, from the (zip64) end of central directory record.
    private static func findCentralDirectory(_ bytes: [UInt8]) throws -> (Int, Int) {
        guard bytes.count >= 22 else { throw Failure(reason: "truncated zip archive (no end record)") }
        var end = -1
        var position = bytes.count - 22
        while position >= max(0, bytes.count - 22 - 65_535) {
            if bytes[position] == 0x50, bytes[position + 1] == 0x4B, bytes[position + 2] == 0x05, bytes[position + 3] == 0x06 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else { throw Failure(reason: "truncated or corrupt zip archive (no end of central directory)") }
        var reader = ByteReader(bytes, offset: end + 10)
        var count = try reader.uint16()
        _ = try reader.uint32()  // directory size
        var offset = try reader.uint32()
        // A zip64 locator sits just before the end record when the archive has one.
        if end >= 20 {
            var locator = ByteReader(bytes, offset: end - 20)
            if try locator.uint32() == 0x0706_4B50 {
                _ = try locator.uint32()
                var record = ByteReader(bytes, offset: Int(clamping: try locator.uint64()))
                guard try record.uint32() == 0x0606_4B50 else { throw Failure(reason: "corrupt zip64 end record") }
                _ = try record.take(20)
                _ = try record.uint64()
                count = Int(clamping: try record.uint64())
                _ = try record.uint64()
                offset = Int(clamping: try record.uint64())
            }
        }
        guard offset <= bytes.count, count <= bytes.count / 46 + 1 else {
            throw Failure(reason: "truncated or corrupt zip archive (central directory outside the file)")
        }
        return (count, offset)
    }

    private static func readDirectoryEntry(_ reader: inout ByteReader) throws -> Entry {
        guard try reader.uint32() == 0x0201_4B50 else { throw Failure(reason: "corrupt zip central directory") }
        _ = try reader.take(6)
        let method = try reader.uint16()
        _ = try reader.take(4)
        let crc = UInt32(try reader.uint32())
        var compressed = try reader.uint32()
        var size = try reader.uint32()
        let nameLength = try reader.uint16()
        let extraLength = try reader.uint16()
        let commentLength = try reader.uint16()
        _ = try reader.take(8)
        var localOffset = try reader.uint32()
        let name = String(decoding: try reader.take(nameLength), as: UTF8.self)
        var extra = ByteReader(Array(try reader.take(extraLength)))
        _ = try reader.take(commentLength)
        while extra.remaining >= 4 {
            let id = try extra.uint16()
            let length = try extra.uint16()
            guard id == 0x0001 else {
                _ = try extra.take(length)
                continue
            }
            if size == 0xFFFF_FFFF { size = Int(clamping: try extra.uint64()) }
            if compressed == 0xFFFF_FFFF { compressed = Int(clamping: try extra.uint64()) }
            if localOffset == 0xFFFF_FFFF { localOffset = Int(clamping: try extra.uint64()) }
            break
        }
        return Entry(name: name, method: method, crc: crc, compressedSize: compressed, size: size,
                     localHeaderOffset: localOffset)
    }
}
