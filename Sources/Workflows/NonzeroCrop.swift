import ImageIO
import Tensors

/// nnU-Net's crop to the nonzero region (`crop_to_nonzero`, applied to every image it predicts): the bounding box of
/// the pixels where any colour channel is nonzero in the file's own values (alpha left out). nnU-Net normalizes and
/// predicts the box alone and marks everything outside it class 0 with probability 1.
struct NonzeroCrop: Equatable {
    let columns: Range<Int>
    let rows: Range<Int>

    /// The box of `image`; nil when it is the whole image, or when no pixel is nonzero (the image is then predicted
    /// whole; nnU-Net has no box to cut).
    init?(_ image: Image) {
        let colours = image.channels == 2 || image.channels == 4 ? image.channels - 1 : image.channels
        var (left, right, top, bottom) = (image.width, -1, image.height, -1)
        image.samples.withUnsafeBufferPointer { samples in
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let pixel = (y * image.width + x) * image.channels
                    guard (0..<colours).contains(where: { samples[pixel + $0] != 0 }) else { continue }
                    (left, right, top, bottom) = (min(left, x), max(right, x), min(top, y), max(bottom, y))
                }
            }
        }
        guard right >= 0, (left, top, right, bottom) != (0, 0, image.width - 1, image.height - 1) else { return nil }
        (columns, rows) = (left..<right + 1, top..<bottom + 1)
    }

    /// The box's pixels, as an image of its size.
    func cut(_ image: Image) throws -> Image {
        var samples: [UInt16] = []
        samples.reserveCapacity(columns.count * rows.count * image.channels)
        for y in rows {
            let start = (y * image.width + columns.lowerBound) * image.channels
            samples.append(contentsOf: image.samples[start..<start + columns.count * image.channels])
        }
        return try Image(width: columns.count, height: rows.count, channels: image.channels, bitDepth: image.bitDepth, samples: samples)
    }

    /// The box's segmentation placed in `image`: class 0 outside, with probability 1 for class 0 (0 for a one-class
    /// model's sigmoid).
    /// - Precondition: `inner` is the segmentation of `cut(image)`.
    func paste(_ inner: ImageSegmenter.Segmentation, into image: Image) throws -> ImageSegmenter.Segmentation {
        var classes = [Int32](repeating: 0, count: image.width * image.height)
        place(inner.classes, planes: 1, into: &classes, width: image.width)
        var probabilities: Tensor?
        if let p = inner.probabilities {
            let planes = p.shape[0]
            // Outside the box: class 0 certain (plane 0 at 1, the others at 0); a one-class sigmoid at 0.
            var out = [Float](repeating: 0, count: planes * image.width * image.height)
            if planes > 1 { for k in 0..<image.width * image.height { out[k] = 1 } }
            place(p.scalars, planes: planes, into: &out, width: image.width)
            probabilities = try Tensor(shape: [planes, image.height, image.width], scalars: out)
        }
        return ImageSegmenter.Segmentation(image: image, classes: classes, probabilities: probabilities)
    }

    /// Copies each of `planes` box-sized planes of `inner` to the box's place in the same plane of `outer`, whose
    /// planes are `width` wide.
    private func place<T>(_ inner: [T], planes: Int, into outer: inout [T], width: Int) {
        let height = outer.count / (planes * width)
        for c in 0..<planes {
            for (j, y) in rows.enumerated() {
                let source = (c * rows.count + j) * columns.count
                let target = (c * height + y) * width + columns.lowerBound
                outer.replaceSubrange(target..<target + columns.count, with: inner[source..<source + columns.count])
            }
        }
    }
}
