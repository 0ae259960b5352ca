import Models

/// How one image is cut into network inputs: the window each forward pass sees, the part of the image its
/// output covers, and where the windows go. Pixels a window needs beyond the image are mirrored.
///
/// - Same padding: the output of a window is the window. A whole image is one window (padded up to a
///   size the network takes: a multiple of `2^depth` or of MONAI `UNet`'s strides' product, unless the network
///   takes any size as milesial's, smp's and `BasicUNet` do); tiles are windows of `tile` pixels, spread as nnU-Net
///   does with at least `overlap` shared.
/// - Valid padding (overlap-tile, the U-Net paper): a window of input `I` yields the centre `O = I − 2m` of it;
///   windows are placed at strides that are multiples of `2^depth`, so the result equals one pass over the
///   mirrored image exactly. Input sizes are *exact*: every map entering a pooling has an even size.
public struct WindowLayout: Equatable, Sendable {
    /// The network's input window `(height, width)`.
    public let input: (height: Int, width: Int)
    /// The window's output `(height, width)`.
    public let output: (height: Int, width: Int)
    /// Where the output starts inside the input window (`(I − O) / 2` with valid padding, else 0).
    public let margin: (top: Int, left: Int)
    /// Output origins along each axis, in image coordinates; windows may reach past the image (mirrored input,
    /// output cropped).
    public let rows: [Int]
    public let columns: [Int]

    public var windowCount: Int { rows.count * columns.count }

    public static func == (a: WindowLayout, b: WindowLayout) -> Bool {
        a.input == b.input && a.output == b.output && a.margin == b.margin && a.rows == b.rows && a.columns == b.columns
    }

    /// The layout for an image of `height × width`.
    /// - Parameters:
    ///   - tile: the window's input side, or nil for the whole image at once.
    ///   - tileWidth: a window width other than `tile` (nnU-Net's patches are not square; networks whose output is
    ///     their window take it), nil for a square window.
    ///   - overlap: the least fraction of a window shared with its neighbour, in `[0, 1)`.
    ///   - padsToWindow: nnU-Net's padding: a side no longer than its window gets the window with the image centred in
    ///     it (the difference split, its smaller half before), the origin negative; the predictor fills the rest with
    ///     zeros. Networks whose output is their window only.
    /// - Throws: `PredictionError.invalidTile` for a tile the network cannot take.
    public init(architecture: Architecture, height: Int, width: Int, tile: Int?, tileWidth: Int? = nil, overlap: Double,
                padsToWindow: Bool = false) throws(PredictionError) {
        let tiles = tile.map { [$0, tileWidth ?? $0] }
        switch architecture {
        case .unet(let c):
            if let tiles, tiles[0] != tiles[1] { throw .invalidTile("a classic U-Net takes square tiles, not \(tiles[0])x\(tiles[1])") }
            try self.init(configuration: c, height: height, width: width, tile: tile, overlap: overlap)
        case .smpUNet, .basicUNet:
            // Any size from the smallest up, the same size out (each up-sampling goes to its skip's size): the image as
            // it is (a small one mirrored up to the smallest), or tiles.
            let smallest = architecture.minimumInputSize
            for tile in tiles ?? [] where tile < smallest { throw .invalidTile("--tile \(tile) must be at least \(smallest) for this network") }
            self.init(sameSizeHeight: height, width: width, tiles: tiles, overlap: overlap, padsToWindow: padsToWindow,
                      whole: Self.wholeWindow(height, width, architecture, multiples: [1, 1],
                                             smallest: Array(repeating: architecture.smallestSide, count: 2)))
        case .monaiUNet, .plainConvUNet, .residualEncoderUNet:
            // Multiples of the strides' product along each side only (MONAI's and nnU-Net's condition), with more than
            // one value per channel at the deepest level for instance norm: the image mirrored up to one, or tiles of one.
            let m = architecture.downsamplingPerAxis
            if let tiles, !zip(tiles, m).allSatisfy({ $0 >= $1 && $0 % $1 == 0 })
                || (architecture.hasInstanceNorm && (tiles[0] / m[0]) * (tiles[1] / m[1]) < 2) {
                let (name, multiple) = tileWidth == nil ? ("--tile \(tiles[0])", "\(architecture.downsampling)")
                    : ("the window \(tiles[0])x\(tiles[1])", "\(m[0])x\(m[1])")
                throw .invalidTile("\(name) must be a multiple of \(multiple) (the strides' product), at least \(architecture.minimumInputSize), "
                    + "for this network")
            }
            self.init(sameSizeHeight: height, width: width, tiles: tiles, overlap: overlap, padsToWindow: padsToWindow,
                      whole: Self.wholeWindow(height, width, architecture, multiples: m, smallest: m))
        }
    }

    /// The smallest window holding a whole `height × width` image in a network whose output is its window: each side
    /// at least `smallest` (`[height, width]`: the one value across the deepest map), rounded up to a multiple of
    /// `multiples`; where the network has instance norm and its deepest map would then hold one value per channel,
    /// which instance norm cannot normalize, each side at least `Architecture.minimumInputSize`. So an image PyTorch
    /// runs as it is runs as it is (a 30 x 59 image in a BasicUNet, whose deepest map is 1 x 3), and only one PyTorch
    /// refuses is mirrored up.
    private static func wholeWindow(_ height: Int, _ width: Int, _ architecture: Architecture, multiples m: [Int], smallest: [Int])
        -> (height: Int, width: Int)
    {
        func side(_ length: Int, atLeast smallest: Int, _ multiple: Int) -> Int { (max(length, smallest) + multiple - 1) / multiple * multiple }
        let (h, w) = (side(height, atLeast: smallest[0], m[0]), side(width, atLeast: smallest[1], m[1]))
        let deepest = architecture.downsamplingPerAxis
        guard architecture.hasInstanceNorm, (h / deepest[0]) * (w / deepest[1]) < 2 else { return (h, w) }
        return (side(height, atLeast: architecture.minimumInputSize, m[0]), side(width, atLeast: architecture.minimumInputSize, m[1]))
    }

    /// A network whose output is its window: each side whole (`whole`: the window holding the whole image) or, below
    /// that, in windows of `tiles` (`[height, width]`); with `padsToWindow`, a side no longer than its window is
    /// centred in one.
    private init(sameSizeHeight height: Int, width: Int, tiles: [Int]?, overlap: Double, padsToWindow: Bool,
                 whole: (height: Int, width: Int)) {
        func side(_ length: Int, _ whole: Int, _ tile: Int?) -> (window: Int, origins: [Int]) {
            if padsToWindow, let tile, tile >= length { return (tile, [-((tile - length) / 2)]) }
            guard let tile, tile < whole else { return (whole, [0]) }
            return (tile, TileGrid.origins(length: length, tile: tile, overlap: overlap))
        }
        let (y, x) = (side(height, whole.height, tiles?[0]), side(width, whole.width, tiles?[1]))
        self.init(input: (y.window, x.window), output: (y.window, x.window), margin: (0, 0), rows: y.origins, columns: x.origins)
    }

    /// The layout for a classic U-Net (see `init(architecture:height:width:tile:overlap:)`).
    public init(configuration c: UNetConfiguration, height: Int, width: Int, tile: Int?, overlap: Double) throws(PredictionError) {
        let alignment = 1 << c.depth
        if c.padding == .valid {
            func side(_ length: Int) throws(PredictionError) -> (input: Int, output: Int, origins: [Int]) {
                let input: Int
                if let tile {
                    guard let size = Self.largestExactValidInput(c, atMost: tile) else {
                        throw .invalidTile("--tile \(tile) is smaller than this valid-padding network's smallest input "
                            + "\(Self.smallestExactValidInput(c, minimumOutput: 1))")
                    }
                    input = size
                } else {
                    input = Self.smallestExactValidInput(c, minimumOutput: length)
                }
                let output = c.outputSize(forInputSize: input)!
                let origins = tile == nil ? [0] : TileGrid.alignedOrigins(length: length, tile: output, overlap: overlap,
                                                                           alignment: alignment)
                return (input, output, origins)
            }
            let (y, x) = (try side(height), try side(width))
            self.init(input: (y.input, x.input), output: (y.output, x.output),
                      margin: ((y.input - y.output) / 2, (x.input - x.output) / 2), rows: y.origins, columns: x.origins)
            return
        }
        if let tile {
            guard tile % alignment == 0, c.outputSize(forInputSize: tile) == tile else {
                throw .invalidTile("--tile \(tile) must be a multiple of \(alignment) (2^depth) for this network")
            }
        }
        func whole(_ length: Int) -> Int {
            c.merge == .pad && c.outputSize(forInputSize: length) == length
                ? length : (max(length, c.minimumInputSize) + alignment - 1) / alignment * alignment
        }
        self.init(sameSizeHeight: height, width: width, tiles: tile.map { [$0, $0] }, overlap: overlap, padsToWindow: false,
                  whole: (whole(height), whole(width)))
    }

    init(input: (Int, Int), output: (Int, Int), margin: (Int, Int), rows: [Int], columns: [Int]) {
        self.input = input
        self.output = output
        self.margin = margin
        self.rows = rows
        self.columns = columns
    }

    /// True when every map entering a max-pooling of a valid-padding network has an even size for `input`, so that
    /// shifting the input by `2^depth` shifts the output by the same: the condition for exact tiling.
    static func isExactValidInput(_ c: UNetConfiguration, _ input: Int) -> Bool {
        guard c.outputSize(forInputSize: input) != nil else { return false }
        var size = input
        for _ in 0..<c.depth {
            size -= c.shrinkPerBlock
            guard size > 0, size % 2 == 0 else { return false }
            size /= 2
        }
        return true
    }

    /// The smallest exact input whose output has at least `minimumOutput` pixels.
    static func smallestExactValidInput(_ c: UNetConfiguration, minimumOutput: Int) -> Int {
        var size = c.minimumInputSize
        while !isExactValidInput(c, size) || c.outputSize(forInputSize: size)! < minimumOutput { size += 1 }
        return size
    }

    /// The largest exact input of at most `limit` pixels, if any.
    static func largestExactValidInput(_ c: UNetConfiguration, atMost limit: Int) -> Int? {
        stride(from: limit, through: c.minimumInputSize, by: -1).first { isExactValidInput(c, $0) }
    }
}
