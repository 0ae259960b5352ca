import Files
import Foundation
import Tensors

/// NumPy's `.npy` format (version 1.0) for float32 arrays: what `numpy.save` writes and `numpy.load` reads.
/// A 10-byte preamble (`\x93NUMPY`, version 1 0, header length as little-endian UInt16), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }` padded with spaces and ended by a newline so that
/// the data starts at a multiple of 64 bytes, then the elements in C order.
public enum NumpyArray {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The `.npy` bytes of `tensor` (its shape, float32, little-endian).
    public static func encode(_ tensor: Tensor) -> Data {
        let dimensions = tensor.shape.map(String.init)
        let shape = dimensions.count == 1 ? "(\(dimensions[0]),)" : "(\(dimensions.joined(separator: ", ")))"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
        let unpadded = magic.count + 4 + header.count + 1
        header += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
        var bytes = Data(magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header)
        // The supported Linux machines (x86-64, AArch64) are little-endian: the floats are copied as they are.
        tensor.withUnsafeBufferPointer { bytes.append($0) }
        return bytes
    }

    /// Writes `tensor` to `path` atomically (a temporary file renamed into place).
    /// - Throws: `CheckpointError` naming the path when it cannot be written.
    public static func write(_ tensor: Tensor, to path: String) throws(CheckpointError) {
        do { try AtomicFile.write(encode(tensor), to: path) } catch { throw CheckpointError(error) }
    }

    /// Reads a float32 C-order `.npy` file.
    /// - Throws: `CheckpointError` for another dtype, Fortran order, or a malformed file.
    public static func read(path: String) throws(CheckpointError) -> Tensor {
        try decode(try TorchCheckpoint.readBytes(path), path: path)
    }

    /// Decodes `.npy` bytes (version 1.0, little-endian float32, C order); `path` labels errors.
    /// - Throws: `CheckpointError` for another dtype or order, a malformed header, or data of the wrong size.
    public static func decode(_ bytes: [UInt8], path: String) throws(CheckpointError) -> Tensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic, bytes[6] == 1 else {
            throw CheckpointError(path, "not a version 1 .npy file")
        }
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + headerLength,
            let header = String(bytes: bytes[10..<(10 + headerLength)], encoding: .ascii)
        else { throw CheckpointError(path, "truncated header") }
        guard header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw CheckpointError(path, "only little-endian float32 arrays in C order are read, found \(CheckpointError.printable(header.prefix(120)))") }
        let fields = header[open.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let shape = fields.compactMap { Int($0) }
        guard shape.count == fields.count, shape.count <= 32, let count = Tensor.elementCount(shape) else {
            throw CheckpointError(path, "malformed shape (\(CheckpointError.printable(header[open.upperBound..<close].prefix(120))))")
        }
        let start = 10 + headerLength
        guard let dataBytes = count.multipliedReportingOverflow(by: 4).overflow ? nil : count * 4,
            bytes.count - start == dataBytes
        else { throw CheckpointError(path, "\(bytes.count - start) data bytes for shape \(shape)") }
        let values = (0..<count).map { i in
            Float(bitPattern: UInt32(bytes[start + 4 * i]) | UInt32(bytes[start + 4 * i + 1]) << 8
                | UInt32(bytes[start + 4 * i + 2]) << 16 | UInt32(bytes[start + 4 * i + 3]) << 24)
        }
        do { return try Tensor(shape: shape, scalars: values) } catch { throw CheckpointError(path, "\(error)") }
    }
}
