import Datasets
import Inference
import Models
import Reports
import Workflows

/// One class of a served model: its index in the network's output, its name where the model stores one, the value
/// its pixels take in the default mask, and the colour of the overlay.
public struct ClassEntry: Codable, Sendable, Equatable {
    public let index: Int
    public let name: String?
    /// The pixel value (gray) or colour (RGB) of the class in the default mask (the training masks' values).
    public let value: [Int]
    /// The overlay's colour of the class, `[r, g, b]` (class 0 is not tinted).
    public let color: [Int]
}

/// What `GET /v1/models` says of a served model: architecture, classes, the sizes it takes and how images are
/// prepared.
public struct ModelDescription: Codable, Sendable {
    public let name: String
    /// The architecture, as `unet info` prints it.
    public let architecture: String
    public let inputChannels: Int
    public let classes: [ClassEntry]
    /// Any image size is taken; the network sees it resized by `scale` (or to `size`) and padded by mirroring to a
    /// multiple of this.
    public let sizeMultiple: Int
    /// The smallest side the network takes (smaller images are padded).
    public let minimumSide: Int
    /// The resize factor applied before the network, or the fixed size `[width, height]`.
    public let scale: Double?
    public let size: [Int]?
    /// Images above this side are predicted in windows of this side (nil: whole images up to the automatic limit).
    public let tile: Int?
    /// The per-channel mean and standard deviation subtracted and divided after scaling pixels to [0, 1] (or, with
    /// `rawIntensities`, in the file's own units, as nnU-Net reads images) and clipping them to `clipLower...clipUpper`;
    /// or a z-score of each image (nnU-Net's and MONAI's habit).
    public let mean: [Float]?
    public let std: [Float]?
    public let clipLower: [Float]?
    public let clipUpper: [Float]?
    public let rawIntensities: Bool
    public let perImageNormalization: Bool
    /// Each image cut to the box of its nonzero pixels first, class 0 outside (nnU-Net's crop).
    public let cropToNonzero: Bool
    /// Test-time augmentation when a request does not ask (`?tta=`).
    public let testTimeAugmentation: Bool
    /// How the convolutions run: `fp32`, `bf16` (`--amp`) or `int8` (a model from `unet quantize`).
    public let precision: String

    /// - Parameter table: the model's class table (`ServedModel.table`), which gives the default mask's values.
    init(name: String, loaded: LoadedModel, table: ClassTable?, options: PredictionOptions, preprocessing: ImageSegmenter.Preprocessing) {
        let architecture = loaded.model.architecture
        let metadata = loaded.metadata
        let count = max(architecture.classes, 2)
        let masks = try? MaskRenderer.image((0..<Int32(count)).map { $0 }, width: count, height: 1, format: .values, table: table,
                                            modelClasses: architecture.classes)
        self.name = name
        self.architecture = architecture.description
        self.inputChannels = architecture.inputChannels
        self.classes = (0..<count).map { c in
            let channels = masks?.channels ?? 1
            let value = masks.map { m in (0..<channels).map { Int(m.samples[c * channels + $0]) } } ?? [c]
            let color = c == 0 ? [0, 0, 0] : { let k = ClassPalette.overlayColor(c); return [Int(k.0), Int(k.1), Int(k.2)] }()
            return ClassEntry(index: c, name: metadata.classNames.flatMap { c < $0.count ? $0[c] : nil }, value: value, color: color)
        }
        self.sizeMultiple = architecture.downsampling
        self.minimumSide = architecture.minimumInputSize
        self.scale = preprocessing.size == nil ? preprocessing.scale : nil
        self.size = preprocessing.size.map { [$0.width, $0.height] }
        self.tile = options.tile
        self.mean = preprocessing.normalization.mean
        self.std = preprocessing.normalization.std
        (self.clipLower, self.clipUpper) = (preprocessing.normalization.lower, preprocessing.normalization.upper)
        self.rawIntensities = preprocessing.normalization.rawIntensities ?? false
        self.perImageNormalization = preprocessing.normalization.perImage ?? false
        self.cropToNonzero = preprocessing.cropToNonzero
        self.testTimeAugmentation = options.flips
        self.precision = options.quantization == nil ? options.precision.rawValue : "int8"
    }
}
