import Datasets
import Foundation
import ImageIO
import Inference
import Models
import Workflows

/// A model the service answers for under `name`: its network with the prediction settings chosen at start, and
/// the class table of its masks. Requests ask for test-time augmentation or not; each choice has its own
/// segmenter (and compiled networks), made when first asked for. Not thread-safe: `SegmentationBatcher` runs
/// every segmentation on its one worker thread.
public final class ServedModel: @unchecked Sendable {
    public let name: String
    public let loaded: LoadedModel
    /// The training masks' values, when the model stores them (the default answer writes them).
    public let table: ClassTable?
    /// What `GET /v1/models` says of the model.
    public let summary: ModelDescription
    private let options: PredictionOptions
    private let preprocessing: ImageSegmenter.Preprocessing
    private let threshold: Float
    private var segmenters: [Bool: ImageSegmenter] = [:]

    /// - Parameters:
    ///   - options: windows, overlap, precision and the default test-time augmentation (`flips`).
    ///   - preprocessing: scale and normalization, as `unet predict` uses them.
    /// - Throws: `PredictionError` for options the network cannot take.
    public init(name: String, loaded: LoadedModel, options: PredictionOptions, preprocessing: ImageSegmenter.Preprocessing,
                threshold: Float) throws {
        self.name = name
        self.loaded = loaded
        self.options = options
        self.preprocessing = preprocessing
        self.threshold = threshold
        self.table = loaded.metadata.maskValues.flatMap { try? ClassTable(values: $0) }
        self.summary = ModelDescription(name: name, loaded: loaded, table: table, options: options, preprocessing: preprocessing)
        segmenters[options.flips] = try makeSegmenter(flips: options.flips)
    }

    /// The default test-time augmentation, used when a request does not say.
    public var defaultFlips: Bool { options.flips }

    /// The segmenter with or without flips.
    func segmenter(flips: Bool) throws -> ImageSegmenter {
        if let segmenter = segmenters[flips] { return segmenter }
        let segmenter = try makeSegmenter(flips: flips)
        segmenters[flips] = segmenter
        return segmenter
    }

    private func makeSegmenter(flips: Bool) throws -> ImageSegmenter {
        var options = options
        options.flips = flips
        return try ImageSegmenter(model: loaded.model, ensemble: loaded.ensemble, options: options, preprocessing: preprocessing,
                                  threshold: threshold)
    }
}
