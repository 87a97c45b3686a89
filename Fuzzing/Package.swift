// swift-tools-version: 6.0
// libFuzzer targets for swift-rlhf's parsers of untrusted files, one executable per parser.
// A package of its own so the root package's `swift build` / `swift test` never link a
// `LLVMFuzzerTestOneInput`; build and run through run.sh (sanitizer flags live there).
// Leaves out the numeric kernels and trainers: they take tensors, not bytes.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory, which is wherever the checkout lives.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "swift-rlhf-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: [
            "FuzzSupport", .product(name: "SafeTensors", package: root),
        ]),
        .executableTarget(name: "FuzzGGUF", dependencies: [
            "FuzzSupport", .product(name: "GGUF", package: root),
        ]),
        .executableTarget(name: "FuzzTokenizer", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: root),
        ]),
        .executableTarget(name: "FuzzJinja", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: root),
        ]),
        .executableTarget(name: "FuzzDatasets", dependencies: [
            "FuzzSupport", .product(name: "Data", package: root),
        ]),
        .executableTarget(name: "FuzzConfig", dependencies: [
            "FuzzSupport", .product(name: "RLHF", package: root),
            .product(name: "RunKit", package: root),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
