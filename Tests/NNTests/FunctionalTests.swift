import Kernels
import NN
import Tensors
import TestSupport
import Testing

@Suite("Functional ops and their pullbacks")
struct FunctionalTests {
    /// Checks `function`'s value and pullback against a fixture with tensors x, y, dy, dx.
    func check(_ name: String, rtol: Float = 1e-4, atol: Float = 1e-5,
               _ function: (Tensor, Fixture) throws -> (Tensor, Pullback)) throws {
        let f = try Fixture("ops/" + name)
        let (y, pullback) = try function(try f.tensor("x"), f)
        expectClose(y, try f.tensor("y"), rtol: rtol, atol: atol, name + " y")
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, name + " dx")
    }

    @Test("relu, sigmoid and softmax")
    func activations() throws {
        try check("relu") { x, _ in try Functional.relu(x) }
        try check("sigmoid") { x, _ in try Functional.sigmoid(x) }
        try check("softmax") { x, _ in try Functional.softmax(x) }
    }

    @Test("pad and center_crop")
    func movement() throws {
        for name in ["pad_positive", "pad_mixed"] {
            try check(name) { x, f in
                try Functional.pad(x, Padding2d(left: try f.int("left"), right: try f.int("right"),
                                                top: try f.int("top"), bottom: try f.int("bottom")))
            }
        }
        for name in ["center_crop_odd", "center_crop_half", "center_crop_larger", "center_crop_mixed"] {
            try check(name) { x, f in try Functional.centerCrop(x, height: try f.int("height"), width: try f.int("width")) }
        }
    }

    @Test("sum and mean over axes and over everything")
    func reductions() throws {
        try check("sum_axes") { x, _ in try Functional.sum(x, alongAxes: [0, 2, 3]) }
        try check("sum_all") { x, _ in try Functional.sum(x, alongAxes: [0, 1, 2, 3]) }
        try check("mean_axes", rtol: 1e-5, atol: 1e-6) { x, _ in try Functional.mean(x, alongAxes: [1]) }
        try check("mean_all", rtol: 1e-5, atol: 1e-6) { x, _ in try Functional.mean(x, alongAxes: [0, 1, 2, 3]) }
    }

    @Test("concat and add route the gradient to every input")
    func multiInput() throws {
        let c = try Fixture("ops/concat")
        let (y, pullback) = try Functional.concat([try c.tensor("a"), try c.tensor("b")])
        expectClose(y, try c.tensor("y"), rtol: 0, atol: 0)
        let parts = try pullback(try c.tensor("dy"))
        expectClose(parts[0], try c.tensor("da"), rtol: 0, atol: 0)
        expectClose(parts[1], try c.tensor("db"), rtol: 0, atol: 0)
        let a = try Fixture("ops/add")
        let (sum, addBack) = try Functional.add(try a.tensor("a"), try a.tensor("b"))
        expectClose(sum, try a.tensor("y"), rtol: 0, atol: 1e-6)
        let (da, db) = try addBack(try a.tensor("dy"))
        expectClose(da, try a.tensor("da"), rtol: 0, atol: 0)
        expectClose(db, try a.tensor("db"), rtol: 0, atol: 0)
    }

    @Test("add and mean pullbacks match finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 24)
        let a = Tensor.normal(shape: [2, 3, 2, 2], using: &g)
        let b = Tensor.normal(shape: [2, 3, 2, 2], using: &g)
        try checkGradient(of: { a in
            let (y, pullback) = try Functional.add(a, b)
            return (y, { dy in try pullback(dy).0 })
        }, at: a)
        try checkGradient(of: { b in
            let (y, pullback) = try Functional.add(a, b)
            return (y, { dy in try pullback(dy).1 })
        }, at: b)
        try checkGradient(of: { x in try Functional.mean(x, alongAxes: [0, 2]) }, at: a)
        try checkGradient(of: { x in try Functional.sum(x, alongAxes: [1, 3]) }, at: a)
    }
}
