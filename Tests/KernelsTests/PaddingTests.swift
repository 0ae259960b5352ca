import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Zero padding and center crop")
struct PaddingTests {
    @Test("F.pad semantics, including negative amounts", arguments: ["pad_positive", "pad_mixed"])
    func pad(name: String) throws {
        let f = try Fixture("ops/" + name)
        let padding = Padding2d(left: try f.int("left"), right: try f.int("right"), top: try f.int("top"),
                                bottom: try f.int("bottom"))
        let x = try f.tensor("x")
        expectClose(try pad2dForward(x, padding), try f.tensor("y"), rtol: 0, atol: 0, "y")
        expectClose(try pad2dBackward(try f.tensor("dy"), padding, inputShape: x.shape), try f.tensor("dx"),
                    rtol: 0, atol: 0, "dx")
    }

    @Test("torchvision center_crop semantics (round half to even, pad when larger)",
          arguments: ["center_crop_odd", "center_crop_half", "center_crop_larger", "center_crop_mixed"])
    func centerCrop(name: String) throws {
        let f = try Fixture("ops/" + name)
        let x = try f.tensor("x")
        let y = try centerCropForward(x, height: try f.int("height"), width: try f.int("width"))
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 0, "y")
        expectClose(try centerCropBackward(try f.tensor("dy"), inputShape: x.shape), try f.tensor("dx"),
                    rtol: 0, atol: 0, "dx")
    }

    @Test("pad and crop gradients match finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 16)
        let x = Tensor.normal(shape: [2, 2, 5, 6], using: &g)
        let padding = Padding2d(left: -1, right: 2, top: 1, bottom: -2)
        try checkGradient(of: { x in
            (try pad2dForward(x, padding), { dy in try pad2dBackward(dy, padding, inputShape: x.shape) })
        }, at: x)
        try checkGradient(of: { x in
            (try centerCropForward(x, height: 3, width: 7), { dy in try centerCropBackward(dy, inputShape: x.shape) })
        }, at: x)
    }

    @Test("negative crops and empty outputs are errors")
    func errors() throws {
        let error = #expect(throws: TensorError.self) {
            try centerCropForward(Tensor(shape: [1, 1, 4, 4]), height: -2, width: 3)
        }
        #expect(try #require(error).description.contains("center_crop"))
        #expect(throws: TensorError.self) {
            try pad2dForward(Tensor(shape: [1, 1, 4, 4]), Padding2d(left: -2, right: -2, top: 0, bottom: 0))
        }
        #expect(throws: TensorError.self) {
            try pad2dBackward(Tensor(shape: [1, 1, 4, 4]), Padding2d(left: 1, right: 0, top: 0, bottom: 0),
                              inputShape: [1, 1, 4, 4])
        }
    }
}
