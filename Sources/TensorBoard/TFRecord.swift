/// The TFRecord framing of an events file: each record is its length (uint64, little-endian), the masked CRC-32C of
/// those 8 bytes, the data, and the masked CRC-32C of the data (both uint32, little-endian).
public enum TFRecord {
    /// `data` framed as one record.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init)
        func crc(_ bytes: [UInt8]) -> [UInt8] { withUnsafeBytes(of: CRC32C.masked(CRC32C.checksum(bytes)).littleEndian, Array.init) }
        return length + crc(length) + data + crc(data)
    }
}
