/// How a dataset's files become network inputs and targets.
public struct DatasetOptions: Sendable {
    /// How mask pixel values name classes.
    public enum MaskEncoding: String, Sendable, CaseIterable {
        /// milesial's `mask_values`: the sorted distinct values of all masks (or a given table) are the classes.
        case values
        /// The values are the class indices themselves, `0..<classes` (class-index PNGs).
        case indices
    }

    /// Channels the model takes (1 gray, 3 RGB, ...).
    public var inputChannels: Int
    /// Output classes of the model: 1 for a binary model (sigmoid), else the class count.
    public var classes: Int?
    /// Resize factor applied to images (bicubic) and masks (nearest), as milesial's `--scale`.
    public var scale: Double
    public var maskEncoding: MaskEncoding
    /// A given value → class table instead of scanning the masks.
    public var classTable: ClassTable?
    /// A mask value whose pixels are excluded from loss and metrics (e.g. 255).
    public var ignoreValue: Int?
    /// Scoring a model that records no class table: when the masks hold fewer values than the model has
    /// classes (all-background ground truth), the scanned table is completed instead of refused: values below
    /// the class count are class indices, and a binary model's 0/255 masks keep milesial's table.
    public var completesScannedTable = false

    public init(inputChannels: Int, classes: Int? = nil, scale: Double = 1, maskEncoding: MaskEncoding = .values,
                classTable: ClassTable? = nil, ignoreValue: Int? = nil) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.scale = scale
        self.maskEncoding = maskEncoding
        self.classTable = classTable
        self.ignoreValue = ignoreValue
    }
}
