import Datasets
import Execution
import Graph
import Inference
import Models
import Tensors
import TestSupport
import Testing

@Suite("Predictor: whole images, windows, flips")
struct PredictorTests {
    /// A model with non-trivial batch-norm statistics, in eval mode.
    func model(_ c: UNetConfiguration, seed: UInt64 = 5) throws -> UNet {
        var g = SeededGenerator(seed: seed)
        let model = try UNet(c, generator: &g)
        for (name, parameter) in model.namedParameters() where name.contains("running_var") {
            parameter.value = Tensor.uniform(shape: parameter.value.shape, low: 0.5, high: 1.5, using: &g)
        }
        model.eval()
        return model
    }

    /// The eval-mode logits of the engine with every pass off (the reference) for `x`.
    func reference(_ model: UNet, _ x: Tensor) throws -> Tensor {
        try CompiledUNet(model, inputShape: x.shape, training: false, passes: []).forward(x)
    }

    func image(channels: Int, height: Int, width: Int, seed: UInt64 = 11) -> SampleImage {
        var g = SeededGenerator(seed: seed)
        return SampleImage(channels: channels, height: height, width: width,
                           values: (0..<(channels * height * width)).map { _ in g.nextUnitFloat() })
    }

    /// The image with `top`/`left` mirrored rows and columns before it and enough after to reach `height × width`
    /// (numpy's `pad(mode="reflect")`), as a `(1, C, height, width)` tensor.
    func mirrored(_ image: SampleImage, top: Int, left: Int, height: Int, width: Int) throws -> Tensor {
        func reflect(_ i: Int, _ n: Int) -> Int {
            var j = i
            while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
            return j
        }
        var values: [Float] = []
        for c in 0..<image.channels {
            for y in 0..<height {
                for x in 0..<width {
                    values.append(image.values[(c * image.height + reflect(y - top, image.height)) * image.width
                        + reflect(x - left, image.width)])
                }
            }
        }
        return try Tensor(shape: [1, image.channels, height, width], scalars: values)
    }

    func crop(_ t: Tensor, top: Int, left: Int, height: Int, width: Int) throws -> Tensor {
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let s = t.scalars
        var out: [Float] = []
        for p in 0..<(n * c) { for y in 0..<height { for x in 0..<width { out.append(s[(p * h + top + y) * w + left + x]) } } }
        return try Tensor(shape: [n, c, height, width], scalars: out)
    }

    @Test("valid padding: overlap-tile output equals one pass over the mirrored image", arguments: [0.0, 0.3])
    func overlapTileIsExact(overlap: Double) throws {
        let c = UNetConfiguration.tutorial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 2, padding: .valid, merge: .crop)
        let unet = try model(c)
        let picture = image(channels: 1, height: 75, width: 101)
        var options = PredictionOptions()
        (options.tile, options.overlap, options.batchSize) = (60, overlap, 3)
        let predictor = try Predictor(model: unet, options: options)
        let layout = try predictor.layout(height: 75, width: 101)
        #expect(layout.windowCount > 4, "\(layout)")
        let tiled = try predictor.logits(picture)

        let extent = (layout.rows.last! + layout.input.height, layout.columns.last! + layout.input.width)
        let single = try reference(unet, try mirrored(picture, top: layout.margin.top, left: layout.margin.left,
                                           height: extent.0, width: extent.1))
        expectClose(tiled, try crop(single, top: 0, left: 0, height: 75, width: 101), rtol: 0, atol: 1e-4, "overlap \(overlap)")
    }

    @Test("whole images of any size: the logits cover the image", arguments: [
        (UNetConfiguration.milesial(inputChannels: 3, classes: 2, baseWidth: 4, depth: 3), 37, 29),
        (UNetConfiguration.labml(inputChannels: 3, classes: 3, baseWidth: 4, depth: 3), 37, 29),
        (UNetConfiguration.tutorial(inputChannels: 3, classes: 2, baseWidth: 4, depth: 2, padding: .valid, merge: .crop), 21, 50),
        (UNetConfiguration.milesial(inputChannels: 3, classes: 1, baseWidth: 4, depth: 4), 5, 7),
    ])
    func anySize(c: UNetConfiguration, height: Int, width: Int) throws {
        let predictor = try Predictor(model: try model(c))
        let logits = try predictor.logits(image(channels: 3, height: height, width: width))
        #expect(logits.shape == [1, c.classes, height, width])
        #expect(logits.scalars.allSatisfy { $0.isFinite })
    }

    @Test("the peers' networks predict images smaller than they take and of sizes they do not take, at the image's size",
          arguments: [
              Architecture.basicUNet(BasicUNetConfiguration(features: [4, 4, 8, 8, 8, 4], inputChannels: 3, classes: 2)),
              Architecture.monaiUNet(MONAIUNetConfiguration(channels: [4, 8, 8], strides: [2, 2], residualUnits: 1, norm: .instance,
                                                           inputChannels: 3, classes: 2)),
              Architecture.plainConvUNet(PlainConvUNetConfiguration(features: [4, 8, 8], strides: [1, 2, 2], inputChannels: 3, classes: 2)),
          ])
    func peersAnySize(architecture: Architecture) throws {
        var g = SeededGenerator(seed: 3)
        let predictor = try Predictor(model: try architecture.makeModel(generator: &g))
        for (h, w) in [(10, 13), (37, 45)] {
            let logits = try predictor.logits(image(channels: 3, height: h, width: w))
            #expect(logits.shape == [1, 2, h, w] && logits.isFinite, "\(architecture) \(h)x\(w)")
        }
    }

    @Test("a whole image runs as it is where PyTorch would run it: instance norm needs two values per channel in the deepest map, not two rows")
    func instanceNormWindows() throws {
        let basic = Architecture.basicUNet(BasicUNetConfiguration(features: [4, 4, 8, 16, 32, 4]))
        // 30 x 59: a 1 x 3 deepest map, which MONAI's BasicUNet normalizes; 20 x 20 (1 x 1) is mirrored up to 32 x 32.
        for (h, w, window) in [(30, 59, (30, 59)), (59, 30, (59, 30)), (20, 20, (32, 32)), (12, 40, (16, 40)), (40, 40, (40, 40))] {
            let layout = try WindowLayout(architecture: basic, height: h, width: w, tile: nil, overlap: 0)
            #expect(layout.input == window && layout.output == window && layout.rows == [0] && layout.columns == [0], "\(h)x\(w)")
        }
        let monai = Architecture.monaiUNet(MONAIUNetConfiguration(channels: [4, 8, 16, 32], strides: [2, 2, 2], norm: .instance))
        for (h, w, window) in [(8, 32, (8, 32)), (7, 20, (8, 24)), (8, 8, (16, 16)), (3, 3, (16, 16))] {
            #expect(try WindowLayout(architecture: monai, height: h, width: w, tile: nil, overlap: 0).input == window, "\(h)x\(w)")
        }
        var batch = monai
        if case .monaiUNet(var c) = monai { c.norm = .batch; batch = .monaiUNet(c) }
        #expect(try WindowLayout(architecture: batch, height: 8, width: 8, tile: nil, overlap: 0).input == (8, 8))
    }

    @Test("non-square windows (nnU-Net's patches): each side tiled on its own; a classic U-Net refuses them")
    func nonSquareTiles() throws {
        let nnunet = Architecture.plainConvUNet(PlainConvUNetConfiguration(features: [4, 8, 8], strides: [1, 2, 2], inputChannels: 3, classes: 2))
        let layout = try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 32, tileWidth: 24, overlap: 0.5)
        #expect(layout.input == (32, 24) && layout.output == (32, 24))
        #expect(layout.rows == TileGrid.origins(length: 37, tile: 32, overlap: 0.5))
        #expect(layout.columns == TileGrid.origins(length: 45, tile: 24, overlap: 0.5) && layout.columns.count > 1)
        #expect(throws: PredictionError.self) {
            try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 32, tileWidth: 22, overlap: 0.5)
        }
        #expect(throws: PredictionError.self) {
            try WindowLayout(architecture: .unet(.milesial(baseWidth: 4, depth: 2)), height: 37, width: 45, tile: 32, tileWidth: 24, overlap: 0)
        }
        var options = PredictionOptions()
        (options.tile, options.tileWidth) = (32, 24)
        var g = SeededGenerator(seed: 3)
        let logits = try Predictor(model: try nnunet.makeModel(generator: &g), options: options).logits(image(channels: 3, height: 37, width: 45))
        #expect(logits.shape == [1, 2, 37, 45] && logits.isFinite)
    }

    /// nnU-Net plans `[1, 2]` strides where only the longer side is halved: each side is then a multiple of its own
    /// strides' product (2 high, 8 wide here), not of the larger.
    @Test("strides that differ between the axes: each side of a window is a multiple of the strides' product along it")
    func anisotropicWindows() throws {
        let nnunet = Architecture.plainConvUNet(PlainConvUNetConfiguration(features: [4, 8, 8, 8], strides: [1, 2, 1, 1], widthStrides: [1, 2, 2, 2],
                                                                           inputChannels: 1, classes: 2))
        #expect(nnunet.downsamplingPerAxis == [2, 8] && nnunet.downsampling == 8)
        let whole = try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: nil, overlap: 0)
        #expect(whole.input == (38, 48) && whole.rows == [0] && whole.columns == [0])
        let tiled = try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 22, tileWidth: 24, overlap: 0.5)
        #expect(tiled.input == (22, 24) && tiled.rows == TileGrid.origins(length: 37, tile: 22, overlap: 0.5))
        let square = #expect(throws: PredictionError.self) { try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 22, overlap: 0.5) }
        #expect(square.map { "\($0)" }?.contains("--tile 22 must be a multiple of 8") == true, "\(String(describing: square))")
        let planned = #expect(throws: PredictionError.self) {
            try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 22, tileWidth: 20, overlap: 0.5)
        }
        #expect(planned.map { "\($0)" }?.contains("the window 22x20 must be a multiple of 2x8") == true, "\(String(describing: planned))")
        // nnU-Net's padding: a side no longer than the window is centred in it (37 in 40: 1 row before, 2 after).
        let padded = try WindowLayout(architecture: nnunet, height: 37, width: 45, tile: 40, tileWidth: 24, overlap: 0.5, padsToWindow: true)
        #expect(padded.input == (40, 24) && padded.rows == [-1] && padded.columns == TileGrid.origins(length: 45, tile: 24, overlap: 0.5))
        var g = SeededGenerator(seed: 4)
        let model = try nnunet.makeModel(generator: &g)
        let logits = try Predictor(model: model, options: PredictionOptions()).logits(image(channels: 1, height: 37, width: 45))
        #expect(logits.shape == [1, 2, 37, 45] && logits.isFinite)
    }

    @Test("milesial's layout predicts odd sizes as PyTorch does: the network itself, no padding")
    func padMergeRunsAsIs() throws {
        let unet = try model(.milesial(inputChannels: 3, classes: 2, baseWidth: 4, depth: 3))
        let picture = image(channels: 3, height: 37, width: 29)
        let expected = try reference(unet, try Tensor(shape: [1, 3, 37, 29], scalars: picture.values))
        expectClose(try Predictor(model: unet).logits(picture), expected, rtol: 0, atol: 1e-4, "milesial 37x29")
    }

    @Test("flips: the average of the four flipped predictions, flipped back")
    func flips() throws {
        let unet = try model(.milesial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 2))
        let picture = image(channels: 1, height: 24, width: 32)
        var options = PredictionOptions()
        options.flips = true
        let averaged = try Predictor(model: unet, options: options).logits(picture)
        func flipped(_ values: [Float], channels: Int, h: Int, w: Int, x: Bool, y: Bool) -> [Float] {
            var out = values
            for c in 0..<channels {
                for r in 0..<h {
                    for col in 0..<w {
                        out[(c * h + r) * w + col] = values[(c * h + (y ? h - 1 - r : r)) * w + (x ? w - 1 - col : col)]
                    }
                }
            }
            return out
        }
        var sum = [Float](repeating: 0, count: 2 * 24 * 32)
        for (x, y) in [(false, false), (true, false), (false, true), (true, true)] {
            let input = try Tensor(shape: [1, 1, 24, 32], scalars: flipped(picture.values, channels: 1, h: 24, w: 32, x: x, y: y))
            let back = flipped(try reference(unet, input).scalars, channels: 2, h: 24, w: 32, x: x, y: y)
            for i in sum.indices { sum[i] += back[i] / 4 }
        }
        expectClose(averaged, try Tensor(shape: [1, 2, 24, 32], scalars: sum), rtol: 0, atol: 1e-4, "flips")
    }

    @Test("several images of one size in shared batches: each image's logits are those it has alone (whole, windows, flips)",
          arguments: [(nil, false, 3), (16, false, 4), (16, true, 5), (nil, true, 2)] as [(Int?, Bool, Int)])
    func batchedImages(tile: Int?, flips: Bool, batchSize: Int) throws {
        let unet = try model(.milesial(inputChannels: 2, classes: 3, baseWidth: 4, depth: 2))
        var options = PredictionOptions()
        (options.tile, options.flips, options.batchSize) = (tile, flips, batchSize)
        let pictures = (0..<3).map { image(channels: 2, height: 28, width: 36, seed: 20 + UInt64($0)) }
        let predictor = try Predictor(model: unet, options: options)
        let together = try predictor.logits(pictures, paths: ["a", "b", "c"])
        #expect(together.count == 3)
        for (k, picture) in pictures.enumerated() {
            expectClose(together[k], try Predictor(model: unet, options: options).logits(picture), rtol: 0, atol: 1e-5, "image \(k)")
        }
        let other = image(channels: 2, height: 28, width: 40)
        let error = #expect(throws: PredictionError.self) { try predictor.logits([pictures[0], other], paths: ["a", "b.png"]) }
        #expect(error?.description == "b.png: 40x28 in a batch of 36x28 images")
    }

    @Test("a tile the network cannot take is refused naming --tile")
    func badTile() throws {
        var options = PredictionOptions()
        options.tile = 100
        let error = #expect(throws: PredictionError.self) {
            try Predictor(model: try model(.milesial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 3)), options: options)
        }
        #expect(error?.description.contains("--tile 100") == true)
    }
}
