import Datasets
import ImageIO
import Inference
import Evaluation
import Models
import Tensors

/// Segments image files with a model, as milesial's `predict_img` does: decode, convert the channels to the
/// model's, resize (by `scale`, or to a fixed size), scale pixels to [0, 1] and normalise, predict (whole, in
/// windows, with flips: `Predictor`), bring the logits back to the image's size (bilinear), then take the classes
/// (arg-max, or sigmoid above `threshold` for one class) and, when asked, the probabilities. With an ensemble (an
/// nnU-Net folder's folds), the logits are the average of every network's, as nnU-Net averages its folds.
public final class ImageSegmenter {
    /// What happens to an image before the network sees it.
    public struct Preprocessing: Sendable {
        /// Resize factor, milesial's `--scale` (sizes are truncated: `Int(scale · side)`).
        public var scale: Double = 1
        /// A fixed network input size `(width, height)` instead of `scale` (the course lab's 572x572).
        public var size: (width: Int, height: Int)?
        public var normalization = Normalization()
        /// Cut each image to the box of its nonzero pixels before anything else and mark the rest class 0, as nnU-Net
        /// predicts (`ModelMetadata.cropToNonzero`).
        public var cropToNonzero = false

        public init() {}

        /// The model's own preprocessing: `scale` (else the training scale the metadata records, else 1), its
        /// normalization and nnU-Net's crop.
        public init(metadata: ModelMetadata, scale: Double? = nil) {
            self.scale = scale ?? metadata.scale ?? 1
            normalization = metadata.normalization
            cropToNonzero = metadata.cropToNonzero ?? false
        }
    }

    /// One image's result, at the image's own size.
    public struct Segmentation: Sendable {
        /// The image as decoded.
        public let image: Image
        /// One class index per pixel, row-major.
        public let classes: [Int32]
        /// `(C, H, W)` softmax probabilities (sigmoid for one class), when asked for.
        public let probabilities: Tensor?
    }

    public let model: any SegmentationModel
    public let predictor: Predictor
    /// The ensemble's other networks' predictors.
    public let ensemble: [Predictor]
    public let preprocessing: Preprocessing
    /// The probability above which a one-class model marks a pixel (milesial's `--mask-threshold`).
    public let threshold: Float

    /// - Parameter ensemble: networks of `model`'s architecture whose logits are averaged with its own.
    public init(model: any SegmentationModel, ensemble: [any SegmentationModel] = [], options: PredictionOptions, preprocessing: Preprocessing,
                threshold: Float = 0.5) throws {
        self.model = model
        self.predictor = try Predictor(model: model, options: options)
        self.ensemble = try ensemble.map { other in
            guard other.architecture == model.architecture else {
                throw PredictionError.ensemble("\(other.architecture) beside \(model.architecture)")
            }
            return try Predictor(model: other, options: options)
        }
        self.preprocessing = preprocessing
        self.threshold = threshold
    }

    /// Reads and segments the image at `path`.
    /// - Throws: `ImageError` for an unreadable file, `DatasetProblem` for channels the model cannot read (both
    ///   name the file), errors of the network.
    public func segment(path: String, probabilities: Bool = false) throws -> Segmentation {
        try segment(ImageReader.read(path: path), path: path, probabilities: probabilities)
    }

    /// Segments a decoded image (`path` names it in errors).
    public func segment(_ image: Image, path: String, probabilities wantsProbabilities: Bool = false) throws -> Segmentation {
        try segment([image], paths: [path], probabilities: wantsProbabilities)[0]
    }

    /// Segments decoded images of one size in one pass: their windows share the network's batches (a server's
    /// dynamic batching). The results are those of segmenting each image alone. With `cropToNonzero`, when any image's
    /// nonzero pixels leave a margin, every image is segmented alone (that one cut to their box).
    /// - Parameter paths: names of the images in errors, one per image.
    /// - Throws: `PredictionError.batchSizes` for images of different sizes in one pass, and what `segment(path:)` throws.
    public func segment(_ images: [Image], paths: [String], probabilities wantsProbabilities: Bool = false) throws -> [Segmentation] {
        let crops = preprocessing.cropToNonzero ? images.map(NonzeroCrop.init) : []
        guard crops.contains(where: { $0 != nil }) else { return try segmentWhole(images, paths: paths, probabilities: wantsProbabilities) }
        return try zip(images, paths).enumerated().map { k, item in
            let (image, path) = item
            guard let crop = crops[k] else { return try segmentWhole([image], paths: [path], probabilities: wantsProbabilities)[0] }
            let inner = try segmentWhole([try crop.cut(image)], paths: [path], probabilities: wantsProbabilities)[0]
            return try crop.paste(inner, into: image)
        }
    }

    /// `segment(_:paths:probabilities:)` of the images as they are.
    private func segmentWhole(_ images: [Image], paths: [String], probabilities wantsProbabilities: Bool) throws -> [Segmentation] {
        guard let first = images.first else { return [] }
        let (width, height) = preprocessing.size
            ?? (max(1, Int(preprocessing.scale * Double(first.width))), max(1, Int(preprocessing.scale * Double(first.height))))
        let inputs = try zip(images, paths).map { image, path in
            guard (image.width, image.height) == (first.width, first.height) else {
                throw PredictionError.batchSizes(path: path, height: image.height, width: image.width,
                                                 expectedHeight: first.height, expectedWidth: first.width)
            }
            var input = try SampleImage(image, channels: model.architecture.inputChannels, path: path)
            if (width, height) != (image.width, image.height) { input = input.resized(width: width, height: height) }
            preprocessing.normalization.apply(&input)
            return input
        }
        var networkLogits = try predictor.logits(inputs, paths: paths)
        if !ensemble.isEmpty {
            for other in ensemble {
                for (k, logits) in try other.logits(inputs, paths: paths).enumerated() { try networkLogits[k].add(logits) }
            }
            networkLogits = networkLogits.map { Float(1) / Float(ensemble.count + 1) * $0 }
        }
        return try zip(images, networkLogits).map { image, networkLogits in
            let logits = try LogitResampler.resize(networkLogits, height: image.height, width: image.width)
            let classes = SegmentationPrediction.classes(logits, threshold: threshold)
            let probabilities = wantsProbabilities
                ? try Probabilities.of(logits).reshaped([model.architecture.classes, image.height, image.width]) : nil
            return Segmentation(image: image, classes: classes, probabilities: probabilities)
        }
    }
}

extension ImageSegmenter {
    /// Segments every image of `dataset` and counts the predictions against its masks (ignored pixels and
    /// pixels outside the regions of interest left out): what `unet evaluate` and the demo score.
    /// - Parameters:
    ///   - indices: the samples to score (all by default; a rank's share under MPI).
    ///   - each: called after each image with its index and result (progress, drawings).
    public func confusion(on dataset: SegmentationDataset, indices: Range<Int>? = nil,
                          each: (Int, Segmentation) throws -> Void = { _, _ in }) throws -> ConfusionMatrix
    {
        var matrix = ConfusionMatrix(classes: max(model.architecture.classes, 2))
        for index in indices ?? 0..<dataset.count {
            let result = try segment(path: dataset.samples[index].image)
            try matrix.add(predictions: result.classes, truth: try dataset.sample(index).mask.classes, ignoreIndex: SampleMask.ignored)
            try each(index, result)
        }
        return matrix
    }
}
