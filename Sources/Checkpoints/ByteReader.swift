/// Little-endian reads from a byte array with bounds checks; every out-of-range read throws instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Thrown for a read past the end: the data is truncated.
    struct OutOfBounds: Error {}

    var remaining: Int { bytes.count - offset }

    mutating func uint8() throws(OutOfBounds) -> UInt8 {
        guard offset >= 0, offset < bytes.count else { throw OutOfBounds() }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// An unsigned little-endian integer of `width` bytes (at most 8).
    mutating func unsigned(_ width: Int) throws(OutOfBounds) -> UInt64 {
        guard width >= 0, width <= 8, offset >= 0, offset <= bytes.count, width <= bytes.count - offset else {
            throw OutOfBounds()
        }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += width
        return value
    }

    mutating func uint16() throws(OutOfBounds) -> Int { Int(try unsigned(2)) }
    mutating func uint32() throws(OutOfBounds) -> Int { Int(try unsigned(4)) }
    mutating func uint64() throws(OutOfBounds) -> UInt64 { try unsigned(8) }

    /// `count` bytes.
    mutating func take(_ count: Int) throws(OutOfBounds) -> ArraySlice<UInt8> {
        guard count >= 0, offset >= 0, offset <= bytes.count, count <= bytes.count - offset else { throw OutOfBounds() }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }
}
