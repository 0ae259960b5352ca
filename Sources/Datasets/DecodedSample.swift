import ImageIO

/// One sample as decoded, before its mask values are mapped to classes.
struct DecodedSample: Sendable {
    let paths: SamplePaths
    let image: SampleImage
    let sourceChannels: Int
    /// The mask's packed values after scaling, `nil` outside the region of interest.
    let scaledValues: [Int?]
    let isColor: Bool
    let valueCounts: [Int: Int]

    /// Approximate bytes it occupies.
    var bytes: Int { image.values.count * 4 + scaledValues.count * 9 }

    static func load(_ paths: SamplePaths, _ options: DatasetOptions) throws(DatasetProblem) -> DecodedSample {
        func read(_ path: String) throws(DatasetProblem) -> Image {
            do { return try ImageReader.read(path: path) } catch { throw DatasetProblem(path, error.reason) }
        }
        let raw = try read(paths.image)
        var image = try SampleImage(raw, channels: options.inputChannels, path: paths.image)
        let maskImage = try read(paths.mask)
        guard maskImage.width == raw.width, maskImage.height == raw.height else {
            throw DatasetProblem(paths.mask, "mask is \(maskImage.width)x\(maskImage.height), its image \(raw.width)x\(raw.height)")
        }
        let values = MaskValues(maskImage)
        var inside: [Bool]?
        if let regionPath = paths.region {
            let region = try read(regionPath)
            guard region.width == raw.width, region.height == raw.height else {
                throw DatasetProblem(regionPath, "region mask is \(region.width)x\(region.height), its image \(raw.width)x\(raw.height)")
            }
            inside = MaskValues(region).packed.map { $0 != 0 }
        }
        var packed: [Int?] = values.packed.enumerated().map { inside?[$0.offset] == false ? nil : $0.element }
        if options.scale != 1 {
            let (w, h) = (max(1, Int(options.scale * Double(raw.width))), max(1, Int(options.scale * Double(raw.height))))
            image = image.resized(width: w, height: h)
            packed = nearest(packed, width: raw.width, height: raw.height, newWidth: w, newHeight: h)
        }
        var counts: [Int: Int] = [:]
        for value in packed { if let value { counts[value, default: 0] += 1 } }
        return DecodedSample(paths: paths, image: image, sourceChannels: raw.channels, scaledValues: packed,
                             isColor: values.isColor, valueCounts: counts)
    }

    /// Class indices per pixel; values outside the table, the ignore value and pixels outside the region become
    /// `SampleMask.ignored`.
    func encode(_ table: ClassTable, ignore: Int?) -> SampleMask {
        let classes = scaledValues.map { value -> Int32 in
            guard let value, value != ignore else { return SampleMask.ignored }
            return table.classIndex(ofPacked: value) ?? SampleMask.ignored
        }
        return SampleMask(height: image.height, width: image.width, classes: classes)
    }

    private static func nearest(_ values: [Int?], width: Int, height: Int, newWidth: Int, newHeight: Int) -> [Int?] {
        (0..<(newWidth * newHeight)).map { i in
            let (y, x) = (i / newWidth, i % newWidth)
            let sy = min(height - 1, Int((Double(y) + 0.5) * Double(height) / Double(newHeight)))
            let sx = min(width - 1, Int((Double(x) + 0.5) * Double(width) / Double(newWidth)))
            return values[sy * width + sx]
        }
    }
}
