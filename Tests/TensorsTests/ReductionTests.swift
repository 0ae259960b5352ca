import Tensors
import TestSupport
import Testing

@Suite("Sum and mean reductions")
struct ReductionTests {
    /// Parses the fixture's comma-separated axes ("" = all axes).
    func axes(_ f: Fixture, rank: Int) throws -> [Int] {
        let text = try f.string("axes")
        return text.isEmpty ? Array(0..<rank) : text.split(separator: ",").map { Int($0)! }
    }

    @Test("sum matches PyTorch, forward and backward", arguments: ["sum_axes", "sum_all"])
    func sum(name: String) throws {
        let f = try Fixture("ops/" + name)
        let x = try f.tensor("x")
        let axes = try axes(f, rank: x.rank)
        expectClose(try x.sum(alongAxes: axes), try f.tensor("y"), rtol: 1e-5, atol: 1e-5, "y")
        expectClose(try f.tensor("dy").expanded(to: x.shape, alongAxes: axes), try f.tensor("dx"), rtol: 0, atol: 0, "dx")
        if name == "sum_all" { #expect(abs(x.sum() - (try f.tensor("y"))[flat: 0]) < 1e-4) }
    }

    @Test("mean matches PyTorch, forward and backward", arguments: ["mean_axes", "mean_all"])
    func mean(name: String) throws {
        let f = try Fixture("ops/" + name)
        let x = try f.tensor("x")
        let axes = try axes(f, rank: x.rank)
        let y = try x.mean(alongAxes: axes)
        expectClose(y, try f.tensor("y"), rtol: 1e-5, atol: 1e-6, "y")
        let n = Float(x.count / y.count)
        expectClose((1 / n) * (try f.tensor("dy").expanded(to: x.shape, alongAxes: axes)), try f.tensor("dx"),
                    rtol: 1e-6, atol: 1e-7, "dx")
        if name == "mean_all" { #expect(abs(x.mean() - (try f.tensor("y"))[flat: 0]) < 1e-5) }
    }

    @Test("the expand pullback of sum matches finite differences", arguments: [[1], [0, 2, 3], [3]])
    func finiteDifferences(axes: [Int]) throws {
        var g = SeededGenerator(seed: 21)
        let x = Tensor.normal(shape: [2, 3, 2, 4], using: &g)
        try checkGradient(of: { x in
            (try x.sum(alongAxes: axes), { dy in try dy.expanded(to: x.shape, alongAxes: axes) })
        }, at: x)
    }

    @Test("the pullback of mean matches finite differences", arguments: [[1], [0, 1, 2, 3]])
    func meanFiniteDifferences(axes: [Int]) throws {
        var g = SeededGenerator(seed: 22)
        let x = Tensor.normal(shape: [2, 3, 2, 4], using: &g)
        try checkGradient(of: { x in
            let y = try x.mean(alongAxes: axes)
            let n = Float(x.count / y.count)
            return (y, { dy in (1 / n) * (try dy.expanded(to: x.shape, alongAxes: axes)) })
        }, at: x)
    }

    @Test("invalid axes are errors")
    func invalidAxes() {
        let x = Tensor(shape: [2, 3])
        #expect(throws: TensorError.self) { try x.sum(alongAxes: [2]) }
        #expect(throws: TensorError.self) { try x.sum(alongAxes: [1, 1]) }
        #expect(throws: TensorError.self) { try Tensor(shape: [4]).expanded(to: [2, 3], alongAxes: [0]) }
        #expect((try? x.sum(alongAxes: [-1]))?.shape == [2])
    }
}
