import Datasets
import Execution
import Models
import Tensors

/// Runs a U-Net over images of any size: whole, or window by window (sliding window for same padding,
/// the paper's exact overlap-tile for valid padding; see `WindowLayout`), optionally averaging flips. Windows
/// are batched through the compiled network, whose memory is bounded by the window and the batch.
///
///     let predictor = try Predictor(model: model, options: options)
///     let logits = try predictor.logits(image)        // (1, classes, H, W) at the image's size
public final class Predictor {
    public let model: any SegmentationModel
    public let options: PredictionOptions
    /// Called after each batch of windows with (windows done, windows in the image).
    public var onProgress: (Int, Int) -> Void = { _, _ in }
    /// Calibration: sees the input of each convolution an int8 network may quantize (`Int8Calibrator`); set it before
    /// the first prediction.
    public var convolutionInputObserver: ConvolutionInputObserver?
    private var networks: [[Int]: CompiledUNet] = [:]

    /// - Throws: `PredictionError.invalidTile` for a tile the network cannot take.
    public init(model: any SegmentationModel, options: PredictionOptions = .init()) throws(PredictionError) {
        self.model = model
        self.options = options
        if let tile = options.tile {
            _ = try WindowLayout(architecture: model.architecture, height: tile, width: options.tileWidth ?? tile, tile: tile,
                                 tileWidth: options.tileWidth, overlap: 0)
        }
    }

    /// Where the windows of an image of `height × width` go: `options.tile`, or for a whole image above
    /// `options.automaticTilingPixels`, the automatic tile rounded to a size the network takes.
    public func layout(height: Int, width: Int) throws(PredictionError) -> WindowLayout {
        let architecture = model.architecture
        var (tile, tileWidth) = (options.tile, options.tile == nil ? nil : options.tileWidth)
        if tile == nil, height * width > options.automaticTilingPixels {
            let alignment = architecture.downsampling
            if case .unet(let c) = architecture, c.padding == .valid {
                tile = options.automaticTile
            } else {
                tile = max(options.automaticTile / alignment, 1) * alignment
            }
        }
        return try WindowLayout(architecture: architecture, height: height, width: width, tile: tile, tileWidth: tileWidth,
                                overlap: options.overlap, padsToWindow: options.padsToWindow)
    }

    /// Re-reads the model's weights into the compiled networks (after training changed them); a network with a value
    /// compiled in that changed (a shared PReLU slope) is dropped, to be compiled again when next used.
    public func parametersChanged() throws {
        networks = networks.filter { !$0.value.bakedParametersChanged }
        for network in networks.values { try network.loadParameters() }
    }

    /// The logits `(1, classes, H, W)` of a CHW image already scaled and normalised as the model expects.
    /// - Throws: `PredictionError` for a channel count the model does not read, errors of the network.
    public func logits(_ image: SampleImage, path: String = "image") throws -> Tensor {
        try logits([image], paths: [path])[0]
    }

    /// The logits `(1, classes, H, W)` of each of several CHW images of one size, their windows (and flips) batched
    /// together through the network, `options.batchSize` at a time: what a server's dynamic batching runs.
    /// - Parameter paths: names of the images in errors, one per image.
    /// - Throws: `PredictionError` for a channel count the model does not read or images of different sizes, errors
    ///   of the network.
    public func logits(_ images: [SampleImage], paths: [String]) throws -> [Tensor] {
        guard let first = images.first else { return [] }
        let c = model.architecture
        for (image, path) in zip(images, paths) {
            guard image.channels == c.inputChannels else {
                throw PredictionError.channels(path: path, found: image.channels, expected: c.inputChannels)
            }
            guard (image.height, image.width) == (first.height, first.width) else {
                throw PredictionError.batchSizes(path: path, height: image.height, width: image.width,
                                                 expectedHeight: first.height, expectedWidth: first.width)
            }
        }
        let layout = try layout(height: first.height, width: first.width)
        let (height, width, classes, channels) = (first.height, first.width, c.classes, first.channels)
        let (inH, inW) = layout.input
        let (outH, outW) = layout.output
        let blending: Blending = layout.windowCount == 1 ? .constant : options.blending
        let windowWeights = blending.weights(height: outH, width: outW)
        let flips: [Flip] = options.flips ? Flip.allCases : [.none]
        let jobs = images.indices.flatMap { i in
            layout.rows.flatMap { r in layout.columns.flatMap { col in flips.map { (image: i, row: r, column: col, flip: $0) } } }
        }
        let batchSize = max(options.batchSize, 1)

        // What these images need, checked before any of it is allocated.
        try c.checkOutputMemory(height: height * images.count, width: width)  // every image's scores at once
        try c.checkMemory(batch: min(batchSize, jobs.count), height: inH, width: inW, training: false)
        let plane = height * width
        var sums = images.map { _ in [Float](repeating: 0, count: classes * plane) }
        var weight = [Float](repeating: 0, count: plane)
        for start in stride(from: 0, to: jobs.count, by: batchSize) {
            let batch = jobs[start..<min(start + batchSize, jobs.count)]
            // 1. The batch of windows, mirrored (or zero) outside the image, and flipped.
            var x = Tensor.empty(shape: [batch.count, channels, inH, inW])
            x.withUnsafeMutableBufferPointer { destination in
                for (k, job) in batch.enumerated() {
                    images[job.image].values.withUnsafeBufferPointer { source in
                        let window = destination.baseAddress! + k * channels * inH * inW
                        Mirror.window(source, channels: channels, rows: height, columns: width, top: job.row - layout.margin.top,
                                      left: job.column - layout.margin.left, height: inH, width: inW, zeros: options.padsToWindow,
                                      into: window)
                        job.flip.apply(window, channels: channels, height: inH, width: inW)
                    }
                }
            }
            // 2. Forward, then each window's logits flipped back and added in, weighted (the weights are the same for
            // every image, so they are counted for the first image's windows only).
            var y = try network(batch: batch.count, height: inH, width: inW).forward(x)
            y.withUnsafeMutableBufferPointer { logits in
                for (k, job) in batch.enumerated() {
                    let window = logits.baseAddress! + k * classes * outH * outW
                    job.flip.apply(window, channels: classes, height: outH, width: outW)
                    // The part of the window inside the image (a padded window starts before it).
                    let rows = max(0, -job.row)..<min(outH, height - job.row)
                    let columns = max(0, -job.column)..<min(outW, width - job.column)
                    sums[job.image].withUnsafeMutableBufferPointer { sum in
                        for yy in rows {
                            let target = (job.row + yy) * width + job.column
                            for xx in columns {
                                let w = windowWeights[yy * outW + xx]
                                if job.image == 0 { weight[target + xx] += w }
                                for ch in 0..<classes { sum[ch * plane + target + xx] += w * window[(ch * outH + yy) * outW + xx] }
                            }
                        }
                    }
                }
            }
            onProgress(min(start + batch.count, jobs.count), jobs.count)
        }
        return try sums.map { sum in
            var sum = sum
            for i in 0..<plane {
                let inverse = 1 / weight[i]
                for ch in 0..<classes { sum[ch * plane + i] *= inverse }
            }
            return try Tensor(shape: [1, classes, height, width], scalars: sum)
        }
    }

    /// The compiled inference network for a batch of windows (`options.compiledShapes` shapes kept).
    private func network(batch: Int, height: Int, width: Int) throws -> CompiledUNet {
        let shape = [batch, model.architecture.inputChannels, height, width]
        if let network = networks[shape] { return network }
        if networks.count >= max(options.compiledShapes, 1) { networks.removeAll() }
        let network = try CompiledUNet(model, inputShape: shape, precision: options.precision, training: false,
                                       quantization: options.quantization, observingConvolutionInputs: convolutionInputObserver)
        networks[shape] = network
        return network
    }
}
