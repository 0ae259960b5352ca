import DNNL
import Foundation
import Synchronization
import Testing

@Suite("oneDNN wrapper")
struct DNNLTests {
    @Test("an invalid descriptor becomes a Swift error naming the C call")
    func errorNamesCall() throws {
        // Input channels 3 vs weights expecting 5: oneDNN refuses the descriptor.
        let error = #expect(throws: DNNLError.self) {
            try PrimitiveDescriptor.convolutionForward(
                .convolution, training: false, source: MemoryDescriptor(dims: [1, 3, 8, 8], format: .abcd),
                weights: MemoryDescriptor(dims: [4, 5, 3, 3], format: .abcd), bias: nil,
                destination: MemoryDescriptor(dims: [1, 4, 8, 8], format: .abcd),
                geometry: SpatialGeometry(stride: 1, padding: 1))
        }
        let text = try #require(error).description
        #expect(text.contains("dnnl_convolution_forward_desc_init") && text.contains("invalid arguments"))
    }

    @Test("format any lets oneDNN choose a layout and implementation")
    func formatAny() throws {
        let pd = try PrimitiveDescriptor.convolutionForward(
            .convolution, training: false, source: MemoryDescriptor(dims: [1, 32, 16, 16], format: .any),
            weights: MemoryDescriptor(dims: [32, 32, 3, 3], format: .any), bias: nil,
            destination: MemoryDescriptor(dims: [1, 32, 16, 16], format: .any),
            geometry: SpatialGeometry(stride: 1, padding: 1))
        let source = pd.memoryDescriptor(.source)
        #expect(!source.isFormatAny && source.dims == [1, 32, 16, 16])
        #expect(source.byteCount >= 32 * 16 * 16 * 4)
        #expect(!pd.implementationName.isEmpty && pd.implementationName != "unknown")
        #expect(pd.memoryDescriptor(.workspace).isEmpty)
    }

    @Test("memory descriptors compare by layout")
    func descriptors() throws {
        let nchw = try MemoryDescriptor(dims: [2, 3, 4, 5], format: .abcd)
        let strided = try MemoryDescriptor(dims: [2, 3, 4, 5], strides: [60, 20, 5, 1])
        let nhwc = try MemoryDescriptor(dims: [2, 3, 4, 5], format: .acdb)
        #expect(nchw == strided)
        #expect(nchw != nhwc)
        #expect(nchw.byteCount == 2 * 3 * 4 * 5 * 4)
        #expect(nchw.with(dataType: .bf16).byteCount == 2 * 3 * 4 * 5 * 2)
        #expect(try nchw.reshaped([6, 20]).dims == [6, 20])
        #expect(throws: DNNLError.self) { try nchw.reshaped([7, 20]) }
    }

    /// A Winograd convolution (which needs scratch memory) made on one thread and run on another gives what
    /// it gives on the thread that made it: it brings its own scratchpad instead of oneDNN's library-managed
    /// one, which belongs to the thread that made the primitive.
    @Test("a primitive made on one thread runs on another, with a scratchpad of its own",
          .enabled(if: CPUISA.hasAVX512, "oneDNN 2.6's Winograd kernels need AVX-512"))
    func primitiveOnAnotherThread() throws {
        let pd = try PrimitiveDescriptor.convolutionForward(
            .convolution, training: false, source: MemoryDescriptor(dims: [2, 32, 16, 16], format: .any),
            weights: MemoryDescriptor(dims: [32, 32, 3, 3], format: .any), bias: nil,
            destination: MemoryDescriptor(dims: [2, 32, 16, 16], format: .any),
            geometry: SpatialGeometry(stride: 1, padding: 1), algorithm: .winograd)
        #expect(pd.memoryDescriptor(.scratchpad).byteCount > 0)
        let (source, weights) = (try Memory(pd.memoryDescriptor(.source)), try Memory(pd.memoryDescriptor(.weights)))
        for (memory, step) in [(source, 7), (weights, 3)] {
            let values = memory.dataPointer.assumingMemoryBound(to: Float.self)
            for i in 0..<(memory.descriptor.byteCount / 4) { values[i] = Float((i * step) % 17) / 17 - 0.5 }
        }
        func run(_ primitive: Primitive) throws -> [Float] {
            let destination = try Memory(pd.memoryDescriptor(.destination))
            try primitive.execute([.source: source, .weights: weights, .destination: destination])
            let values = destination.dataPointer.assumingMemoryBound(to: Float.self)
            return Array(UnsafeBufferPointer(start: values, count: destination.descriptor.byteCount / 4))
        }
        let expected = try run(try Primitive(pd))
        nonisolated(unsafe) let descriptor = pd
        nonisolated(unsafe) var made: Result<Primitive, DNNLError>?
        let done = DispatchSemaphore(value: 0)
        Thread {
            made = Result { () throws(DNNLError) in try Primitive(descriptor) }
            done.signal()
        }.start()
        done.wait()
        let primitive = try #require(made).get()
        #expect(try run(primitive) == expected)
        #expect(primitive.scratchpad != nil)
    }

    /// Nothing enters oneDNN while an OpenMP region of ours runs on another thread, and the reverse: a descriptor made,
    /// a primitive made and a primitive run while the region holds the team all wait for it to end.
    @Test("making and running primitives waits for an OpenMP region of ours running on another thread")
    func exclusiveWithRegions() throws {
        let source = try MemoryDescriptor(dims: [1, 3, 4, 4], format: .abcd)
        let destination = try MemoryDescriptor(dims: [1, 3, 4, 4], format: .acdb)
        let entered = DispatchSemaphore(value: 0)
        let events = Mutex<[String]>([])
        Thread {
            Threads.parallel { thread, _ in
                guard thread == 0 else { return }
                entered.signal()
                usleep(300_000)
                events.withLock { $0.append("region ended") }
            }
        }.start()
        entered.wait()
        let pd = try PrimitiveDescriptor.reorder(source: source, destination: destination)
        events.withLock { $0.append("descriptor made") }
        let primitive = try Primitive(pd)
        try primitive.execute([.source: try Memory(source), .destination: try Memory(destination)])
        events.withLock { $0.append("primitive ran") }
        #expect(events.withLock { $0 } == ["region ended", "descriptor made", "primitive ran"])
    }
}
