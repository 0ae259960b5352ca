import Graph
import Testing

@Suite("Graph building: shapes inferred, bad shapes named")
struct GraphBuilderTests {
    @Test("shapes follow PyTorch's formulas")
    func shapes() throws {
        let b = GraphBuilder(inputShape: [2, 3, 9, 11])
        let c = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 8, kernel: 3, stride: 2, padding: 1), name: "conv")
        #expect(b.shape(c) == [2, 8, 5, 6])
        let d = try b.conv2d(c, Conv2dAttributes(weight: "w2", outputChannels: 8, kernel: 3, padding: 2, dilation: 2, groups: 4), name: "dilated")
        #expect(b.shape(d) == [2, 8, 5, 6])
        let t = try b.convTranspose2d(d, ConvTranspose2dAttributes(weight: "t", outputChannels: 4, kernel: 3, stride: 2, padding: 1,
                                                                   outputPadding: 1), name: "up")
        #expect(b.shape(t) == [2, 4, 10, 12])
        let p = try b.maxPool(t, PoolAttributes(kernel: 3, stride: 2, padding: 1, ceilMode: true), name: "pool")
        #expect(b.shape(p) == [2, 4, 6, 7], "ceil mode: the last window may start in the padding")
        let u = try b.upsample(p, size: [7, 9], mode: .nearest, name: "resize")
        #expect(b.shape(u) == [2, 4, 7, 9])
        let padded = try b.pad(u, PadAttributes(top: 1, bottom: 0, left: 2, right: 3, mode: .reflect), name: "pad")
        #expect(b.shape(padded) == [2, 4, 8, 14])
        let cropped = try b.centerCrop(padded, height: 5, width: 5, name: "crop")
        let joined = try b.concat([cropped, cropped], name: "cat")
        #expect(b.shape(joined) == [2, 8, 5, 5])
        let graph = b.graph(output: joined)
        #expect(graph.nodes.count == 8)
        #expect(graph.parameterKeys == ["w", "w2", "t"])
    }

    @Test("a shape an op cannot take is an error naming the node")
    func errors() throws {
        let b = GraphBuilder(inputShape: [1, 3, 4, 4])
        #expect(throws: GraphError.self) {
            try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 8, kernel: 5), name: "too-large")
        }
        let x = try b.relu(b.input, name: "relu")
        let small = try b.maxPool(x, PoolAttributes(kernel: 2), name: "pool")
        #expect {
            try b.concat([x, small], name: "mismatch")
        } throws: { "\($0)".hasPrefix("mismatch: cat concatenates maps of different sizes") }
        #expect(throws: GraphError.self) { try b.pad(x, PadAttributes(top: 4, bottom: 0, left: 0, right: 0, mode: .reflect), name: "reflect") }
        #expect(throws: GraphError.self) {
            try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 8, kernel: 3, groups: 2), name: "groups")
        }
    }

    @Test("levels: resolution steps, valid convolutions' lost pixels ignored")
    func levels() throws {
        let b = GraphBuilder(inputShape: [1, 1, 572, 572])
        let c = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 8, kernel: 3), name: "valid")
        let p = try b.maxPool(c, PoolAttributes(kernel: 2), name: "pool")
        let p2 = try b.maxPool(p, PoolAttributes(kernel: 2), name: "pool2")
        let u = try b.upsample(p2, scale: 2, mode: .nearest, name: "up")
        let graph = b.graph(output: u)
        #expect([c, p, p2, u].map { graph.levels[$0.id] } == [0, 1, 2, 1])
    }
}
