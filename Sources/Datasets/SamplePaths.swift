import Files
import Foundation

/// The files of one training example: an image, its mask, and optionally a region-of-interest mask (nonzero
/// inside; pixels outside are ignored, e.g. DRIVE's field of view).
public struct SamplePaths: Sendable, Equatable {
    public let image: String
    public let mask: String
    public let region: String?

    public init(image: String, mask: String, region: String? = nil) {
        self.image = image
        self.mask = mask
        self.region = region
    }

    /// The image's file name without extension, which matches it to its mask.
    public var stem: String { SamplePaths.stem(image) }

    static func stem(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        let dot = name.lastIndex(of: ".") ?? name.endIndex
        return String(name[..<dot])
    }
}

/// Where a dataset's files are and how they pair up.
public enum SampleDiscovery {
    /// Image extensions the readers decode.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "tif", "tiff", "bmp"]

    /// Pairs each image in `images` with the file in `masks` whose stem is the image's stem plus `maskSuffix`
    /// (milesial's `data/imgs` + `data/masks`; Carvana's `_mask`), and likewise with `regions` when given. A nil
    /// suffix is found from the file names (`suffix(of:stems:)`). Images without a mask (or region) are reported,
    /// not skipped silently.
    /// - Returns: the pairs in file-name order, one problem per unmatched or duplicate file, and the suffixes used.
    public static func pairFolders(
        images: String, masks: String, maskSuffix: String? = "", regions: String? = nil, regionSuffix: String? = ""
    ) -> (pairs: [SamplePaths], problems: [DatasetProblem], suffixes: (mask: String, region: String)) {
        var problems: [DatasetProblem] = []
        let imageFiles = listImages(images, &problems)
        let stems = Set(imageFiles.map(SamplePaths.stem))
        let maskFiles = listImages(masks, &problems)
        let maskEnd = maskSuffix ?? suffix(of: maskFiles, stems: stems)
        let maskIndex = index(maskFiles, suffix: maskEnd, &problems)
        let regionFiles = regions.map { listImages($0, &problems) }
        let regionEnd = regionSuffix ?? regionFiles.map { suffix(of: $0, stems: stems) } ?? ""
        let regionIndex = regionFiles.map { index($0, suffix: regionEnd, &problems) }
        var pairs: [SamplePaths] = []
        for image in imageFiles {
            let stem = SamplePaths.stem(image)
            guard let mask = maskIndex[stem] else {
                problems.append(DatasetProblem(image, "no mask \(stem)\(maskEnd).* in \(masks)"))
                continue
            }
            var region: String?
            if let regionIndex {
                guard let found = regionIndex[stem] else {
                    problems.append(DatasetProblem(image, "no region-of-interest mask \(stem)\(regionEnd).* in \(regions!)"))
                    continue
                }
                region = found
            }
            pairs.append(SamplePaths(image: image, mask: mask, region: region))
        }
        if imageFiles.isEmpty, FileManager.default.fileExists(atPath: images) {
            problems.append(DatasetProblem(images, "no images (\(imageExtensions.sorted().joined(separator: ", "))) in the folder"))
        }
        return (pairs, problems, (maskEnd, regionEnd))
    }

    /// What the names of `files` add to the image stems `stems`: the addition that pairs the most images, `""` (the
    /// stems alone) on a tie or where no file's stem is an image's stem or starts with one. Carvana's masks add
    /// `_mask`, which milesial's trainer tries; DRIVE's field-of-view masks add `_mask` to `21_training`.
    private static func suffix(of files: [String], stems: Set<String>) -> String {
        var pairing: [String: Int] = [:]
        for file in files {
            let stem = SamplePaths.stem(file)
            for end in stem.indices.dropFirst() + [stem.endIndex] where stems.contains(String(stem[..<end])) {
                pairing[String(stem[end...]), default: 0] += 1
            }
        }
        return pairing.max { ($0.value, $1.key.count, $1.key) < ($1.value, $0.key.count, $0.key) }?.key ?? ""
    }

    /// Reads pairs from a list file: one `IMAGE MASK [REGION]` per line (whitespace or comma separated,
    /// relative paths resolved against the list's folder, `#` comments, any line ends).
    public static func readList(_ path: String) -> (pairs: [SamplePaths], problems: [DatasetProblem]) {
        do {
            return parseList(try TextFile.read(path), path: path)
        } catch {
            return ([], [DatasetProblem(path, error.reason == "no such file" ? "no such file" : "cannot read the list: \(error.reason)")])
        }
    }

    /// The pairs of a list file's text (see `readList`); `path` resolves relative names and labels problems.
    public static func parseList(_ text: String, path: String) -> (pairs: [SamplePaths], problems: [DatasetProblem]) {
        let folder = (path as NSString).deletingLastPathComponent
        func resolve(_ p: Substring) -> String {
            p.hasPrefix("/") ? String(p) : (folder as NSString).appendingPathComponent(String(p))
        }
        var pairs: [SamplePaths] = []
        var problems: [DatasetProblem] = []
        for (number, raw) in TextFile.lines(text).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
            if fields.isEmpty { continue }
            guard fields.count == 2 || fields.count == 3 else {
                problems.append(DatasetProblem("\(path):\(number + 1)", "expected 'IMAGE MASK [REGION]', found \(fields.count) fields"))
                continue
            }
            pairs.append(SamplePaths(image: resolve(fields[0]), mask: resolve(fields[1]), region: fields.count == 3 ? resolve(fields[2]) : nil))
        }
        if pairs.isEmpty && problems.isEmpty { problems.append(DatasetProblem(path, "the list names no image")) }
        return (pairs, problems)
    }

    private static func listImages(_ folder: String, _ problems: inout [DatasetProblem]) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            problems.append(DatasetProblem(folder, "no such folder"))
            return []
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted().map { (folder as NSString).appendingPathComponent($0) }
    }

    /// Files by stem with `suffix` removed; files without the suffix are not masks and are left out.
    private static func index(_ files: [String], suffix: String, _ problems: inout [DatasetProblem]) -> [String: String] {
        var result: [String: String] = [:]
        for file in files {
            let stem = SamplePaths.stem(file)
            guard suffix.isEmpty || stem.hasSuffix(suffix) else { continue }
            let key = String(stem.dropLast(suffix.count))
            if let other = result[key] {
                problems.append(DatasetProblem(file, "same stem as \(other)"))
                continue
            }
            result[key] = file
        }
        return result
    }
}
