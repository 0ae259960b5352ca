import Tensors
import Testing

@Suite("Tensor")
struct TensorTests {
    @Test("row-major layout and multi-dimensional indexing")
    func indexing() throws {
        let t = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(t[1, 2] == 5)
        #expect(t[0, 1] == 1)
        #expect(t.count == 6 && t.rank == 2)
        #expect(Tensor(shape: [2, 2], generator: { Float($0 * 2) }).scalars == [0, 2, 4, 6])
    }

    @Test("copies share storage until one mutates (copy-on-write)")
    func copyOnWrite() throws {
        var a = try Tensor(shape: [3], scalars: [1, 2, 3])
        let b = a
        #expect(a.storage === b.storage)
        a[flat: 0] = 9
        #expect(a.storage !== b.storage)
        #expect(b.scalars == [1, 2, 3])
        #expect(a.scalars == [9, 2, 3])
        var c = a
        c.withUnsafeMutableBufferPointer { $0[1] = 7 }
        #expect(a.scalars == [9, 2, 3] && c.scalars == [9, 7, 3])
    }

    @Test("reshape shares storage and checks the element count")
    func reshape() throws {
        let t = Tensor(shape: [2, 6], repeating: 1)
        let r = try t.reshaped([3, 4])
        #expect(r.shape == [3, 4] && r.storage === t.storage)
        let error = #expect(throws: TensorError.self) { try t.reshaped([5, 2]) }
        #expect(try #require(error).description.contains("[2, 6]"))
    }

    @Test("a scalar count that does not fit the shape is an error")
    func badScalars() {
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], scalars: [1, 2, 3]) }
        #expect(throws: TensorError.self) { try Tensor(shape: [-1, 2], scalars: []) }
    }

    @Test("equality is exact")
    func equality() throws {
        let a = try Tensor(shape: [2], scalars: [1, 2])
        #expect(a == (try Tensor(shape: [2], scalars: [1, 2])))
        #expect(a != (try Tensor(shape: [2], scalars: [1, 2.000001])))
        #expect(a != (try Tensor(shape: [1, 2], scalars: [1, 2])))
    }

    @Test("storage is 64-byte aligned for oneDNN")
    func alignment() {
        for count in [1, 3, 17, 1000] {
            #expect(Int(bitPattern: Tensor(shape: [count]).storage.baseAddress) % 64 == 0)
        }
    }
}
