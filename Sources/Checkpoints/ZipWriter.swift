/// Builds a ZIP archive in memory as `torch.save` lays it out: stored entries whose data start on 64-byte
/// boundaries (padding in an extra field), a central directory and an end record. Archives over 4 GiB are
/// refused (a U-Net checkpoint is far smaller).
struct ZipWriter {
    private var output: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0

    /// Appends an entry named `name` holding `data`.
    mutating func add(_ name: String, _ data: [UInt8]) throws(ZipArchive.Failure) {
        let nameBytes = Array(name.utf8)
        let offset = output.count
        // Pad with an extra field ("FB", as PyTorch does) so that the data start is 64-byte aligned.
        let unpadded = offset + 30 + nameBytes.count + 4
        let padding = (64 - unpadded % 64) % 64
        let crc = CRC32.checksum(data)
        guard offset + data.count + 1024 < Int(UInt32.max) else {
            throw ZipArchive.Failure(reason: "archive would exceed 4 GiB, which this writer does not support")
        }
        output += le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2)  // version, flags, stored, time, date
        output += le(Int(crc), 4) + le(data.count, 4) + le(data.count, 4) + le(nameBytes.count, 2) + le(4 + padding, 2)
        output += nameBytes + le(0x4246, 2) + le(padding, 2) + [UInt8](repeating: 0x5A, count: padding)
        output += data
        directory += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2)
        directory += le(Int(crc), 4) + le(data.count, 4) + le(data.count, 4) + le(nameBytes.count, 2) + le(0, 2)
        directory += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4) + nameBytes
        count += 1
    }

    /// The finished archive.
    func finish() -> [UInt8] {
        output + directory + le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(count, 2) + le(count, 2)
            + le(directory.count, 4) + le(output.count, 4) + le(0, 2)
    }

    private func le(_ value: Int, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
