// swift-tools-version: 6.0
// unet: U-Net semantic segmentation in Swift. See README.md for the architecture.
import PackageDescription

let package = Package(
    name: "unet",
    products: [
        .executable(name: "unet", targets: ["unet"]),
        .executable(name: "segment-image", targets: ["SegmentImage"]),
        .library(name: "UNetKit", targets: ["UNetKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C system libraries (Debian packages installed by scripts/bootstrap.sh)
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CImageCodecs", path: "Sources/CImageCodecs"),

        // MARK: - Libraries
        .target(name: "DNNL", dependencies: ["CDNNL"]),
        .target(name: "Files"),
        .target(name: "Tensors"),
        .target(name: "Graph"),
        .target(name: "Kernels", dependencies: ["DNNL", "Tensors"]),
        .target(name: "NN", dependencies: ["Kernels", "Tensors"]),
        .target(name: "Checkpoints", dependencies: ["Files", "Tensors"]),
        .target(name: "Models", dependencies: ["Checkpoints", "Files", "Graph", "NN", "Tensors"]),
        .target(name: "Execution", dependencies: ["DNNL", "Graph", "Kernels", "NN", "Models", "Tensors"], exclude: ["README.md"]),
        .target(name: "Training", dependencies: ["DNNL", "NN", "Tensors"]),
        .target(name: "Metrics"),
        .target(name: "Datasets", dependencies: ["Files", "ImageIO", "Tensors"]),
        .target(name: "Reports", dependencies: ["ImageIO"]),
        .target(
            name: "Inference", dependencies: ["Datasets", "Execution", "Graph", "Kernels", "Models", "Tensors"]),
        .target(
            name: "Workflows",
            dependencies: [
                "Checkpoints", "Datasets", "Execution", "Files", "Graph", "ImageIO", "Inference", "Metrics", "Models", "NN", "Reports",
                "Tensors", "Training",
            ]),
        .target(name: "ImageIO", dependencies: ["CImageCodecs", "Files"]),
        // One import for the whole library (`@_exported` re-exports of every target above).
        .target(
            name: "UNetKit",
            dependencies: [
                "Checkpoints", "DNNL", "Datasets", "Execution", "Files", "Graph", "ImageIO", "Inference", "Kernels", "Metrics", "Models",
                "NN", "Reports", "Tensors", "Training", "Workflows",
            ]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "unet",
            dependencies: [
                "Checkpoints", "DNNL", "Datasets", "Execution", "Files", "Graph", "ImageIO", "Inference", "Metrics", "Models", "Reports",
                "Tensors", "Training", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Example (README: using the library from Swift)
        .executableTarget(
            name: "SegmentImage", dependencies: ["UNetKit"], path: "Examples/SegmentImage"),

        // MARK: - Fuzzing (Fuzz/run.sh builds unet-fuzz with libFuzzer; make test replays Fuzz/regressions)
        .target(
            name: "FuzzHarnesses", dependencies: ["Checkpoints", "Datasets", "ImageIO", "Models", "Workflows"], path: "Fuzz/Harnesses"),
        .executableTarget(name: "unet-fuzz", dependencies: ["FuzzHarnesses"], path: "Fuzz/Driver"),

        // MARK: - Tests
        .target(
            name: "TestSupport", dependencies: ["Tensors", "Checkpoints", "ImageIO", "Models"], path: "Tests/TestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "GraphTests", dependencies: ["Graph"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Kernels", "Tensors", "TestSupport"]),
        .testTarget(name: "DNNLTests", dependencies: ["DNNL"]),
        .testTarget(name: "FilesTests", dependencies: ["Files"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarnesses"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NN", "Tensors", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ImageIO", "Tensors", "TestSupport"]),
        .testTarget(
            name: "WorkflowsTests",
            dependencies: [
                "Workflows", "Inference", "Datasets", "Execution", "ImageIO", "Models", "Training", "Tensors", "Checkpoints", "TestSupport",
            ]),
        .testTarget(
            name: "ExecutionTests",
            dependencies: ["Checkpoints", "Execution", "Graph", "DNNL", "NN", "Models", "Tensors", "TestSupport", "Training"],
            exclude: ["Snapshots"]),
        .testTarget(name: "ModelsTests", dependencies: ["Execution", "Models", "NN", "Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Tensors", "TestSupport"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Checkpoints", "TestSupport"]),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Datasets", "Execution", "Graph", "Models", "Tensors", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["unet", "SegmentImage", "Checkpoints", "Files", "ImageIO", "Models", "Tensors", "TestSupport"]),
    ]
)
