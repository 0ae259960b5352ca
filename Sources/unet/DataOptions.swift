import ArgumentParser
import Datasets
import Distributed
import Foundation

/// Where a dataset's images and masks are and how masks encode classes; shared by `train`, `evaluate` and
/// `dataset check`.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Folder of images.", valueName: "dir")) var images: String?
    @Option(help: ArgumentHelp("Folder of masks, matched to images by file stem.", valueName: "dir")) var masks: String?
    @Option(help: ArgumentHelp("What mask names add to the image stem (Carvana: _mask); found from the files when left out.",
                               valueName: "suffix"))
    var maskSuffix: String?
    @Option(help: ArgumentHelp("A file listing 'IMAGE MASK [REGION]' per line, instead of --images/--masks.", valueName: "file"))
    var list: String?
    @Option(help: ArgumentHelp("Folder of region-of-interest masks (nonzero inside); pixels outside are ignored.", valueName: "dir"))
    var regions: String?
    @Option(help: ArgumentHelp("What region-mask names add to the image stem; found from the files when left out.",
                               valueName: "suffix"))
    var regionSuffix: String?
    @Option(help: ArgumentHelp("A mask value excluded from loss and metrics (e.g. 255).", valueName: "value"))
    var ignoreIndex: Int?
    @Option(help: ArgumentHelp("The mask value of each class, in class order: '0,255', or colours '0 0 0;255 0 0'.",
                               valueName: "table"))
    var maskValues: String?
    @Option(help: ArgumentHelp("values: the sorted distinct mask values are the classes (milesial); indices: mask values are class indices.",
                               valueName: "values|indices"))
    var maskEncoding: DatasetOptions.MaskEncoding = .values

    func validate() throws {
        if list != nil && (images != nil || masks != nil) { throw ValidationError("--list excludes --images and --masks") }
        try FlagRange.check(ignoreIndex, "--ignore-index", in: 0...65535)
        _ = try classTable()
    }

    /// True when the options name the pairs: --images and --masks, or --list.
    var namesPairs: Bool { list != nil || (images != nil && masks != nil) }

    /// The image/mask pairs, with problems found while pairing; `images` replaces `--images` (evaluate's
    /// `--predictions`).
    /// - Throws: `ValidationError` when neither --images/--masks nor --list is given.
    func pairs(images override: String? = nil) throws -> (pairs: [SamplePaths], problems: [DatasetProblem]) {
        if let list { return SampleDiscovery.readList(list) }
        guard let images = override ?? images, let masks else { throw ValidationError("give --images and --masks, or --list") }
        return pairFolders(images: images, masks: masks, regions: regions)
    }

    /// The pairs of the files in these folders, with --mask-suffix and --region-suffix, or where one is left out,
    /// the suffix found from the files (`SampleDiscovery.pairFolders`), told in a note on standard error (by rank 0
    /// alone under mpirun).
    func pairFolders(images: String, masks: String, regions: String?) -> (pairs: [SamplePaths], problems: [DatasetProblem]) {
        let paired = SampleDiscovery.pairFolders(images: images, masks: masks, maskSuffix: maskSuffix, regions: regions,
                                                 regionSuffix: regionSuffix)
        func note(_ found: String, given: String?, _ flag: String, _ what: String) {
            guard given == nil, !found.isEmpty, ProcessGroup.world.isPrimary else { return }
            Console.error("note: \(what) are named by the image's stem + '\(found)' (found from the files; \(flag) sets it)")
        }
        note(paired.suffixes.mask, given: maskSuffix, "--mask-suffix", "masks")
        if regions != nil { note(paired.suffixes.region, given: regionSuffix, "--region-suffix", "region masks") }
        return (paired.pairs, paired.problems)
    }

    /// Checks that the pairs come from one place: `folder` (`DIR`), or --images and --masks, or --list.
    /// - Throws: `ValidationError` otherwise.
    func checkSource(folder: String?) throws {
        if folder != nil && (images != nil || list != nil) || folder == nil && !namesPairs {
            throw ValidationError("give DIR, or --images and --masks, or --list")
        }
    }

    /// The pairs from `folder` (`DIR` of `unet dataset check` and `unet plan`: its images and masks folders found by
    /// name), or from the options when there is none.
    /// - Throws: `CLIError` when the folder holds no images and masks folders.
    func pairs(in folder: String?) throws -> (pairs: [SamplePaths], problems: [DatasetProblem]) {
        guard let folder else { return try pairs() }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        func find(_ candidates: [String]) -> String? {
            candidates.first { names.contains($0) }.map { (folder as NSString).appendingPathComponent($0) }
        }
        guard let images = find(["images", "imgs", "image"]), let masks = find(["masks", "labels", "label", "mask"]) else {
            throw CLIError(description: "\(folder): no images|imgs|image and masks|labels|label|mask folders inside; "
                + "give --images and --masks")
        }
        return pairFolders(images: images, masks: masks, regions: regions)
    }

    /// The class table given by --mask-values, if any.
    func classTable() throws -> ClassTable? {
        guard let maskValues else { return nil }
        do { return try ClassTable(parsing: maskValues, source: "--mask-values") } catch {
            throw ValidationError(error.description)
        }
    }
}

extension DatasetOptions.MaskEncoding: ExpressibleByArgument {}
