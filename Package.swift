// swift-tools-version: 6.0
// swift-rlhf: RLHF (SFT, reward modelling, PPO) for causal language models, natively in Swift.
import PackageDescription

/// Kernels lose ~100x without `-target-cpu native` (SIMD ops become library calls, see
/// shared/PERF-NOTES.md); `-Ounchecked` drops the implicit overflow/bounds traps in hot
/// loops, so it is kept to the targets whose loops are the kernels (TensorCore, NN, RLMath).
/// Loaders, parsers and orchestration (Models, GGUF, Generation, RLHF) keep the traps: a
/// check missed there must stop the program, not become a wild write.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]
let fastFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native"])]

let package = Package(
    name: "swift-rlhf",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "RLMath", targets: ["RLMath"]),
        .library(name: "RLHF", targets: ["RLHF"]),
        .library(name: "Data", targets: ["Data"]),
        .library(name: "RunKit", targets: ["RunKit"]),
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "Labeling", targets: ["Labeling"]),
        .executable(name: "rlhf", targets: ["rlhf"]),
        .executable(name: "rlhf-bench", targets: ["rlhf-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The labelling web server (`rlhf label`) only; no other target links it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // bf16 packing and micro-kernel in C: intrinsics behind target attributes, chosen by CPUID.
        .target(name: "CKernels"),
        .target(name: "TensorCore", dependencies: ["CKernels"], swiftSettings: kernelFlags),
        .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: kernelFlags),
        .target(name: "SafeTensors", dependencies: ["TensorCore"], swiftSettings: fastFlags),
        .target(name: "Tokenizers", swiftSettings: fastFlags),
        .target(name: "Models", dependencies: ["NN", "SafeTensors", "TensorCore"], swiftSettings: fastFlags),
        .target(name: "Generation", dependencies: ["Models", "TensorCore"], swiftSettings: fastFlags),
        .target(name: "GGUF", dependencies: ["Models", "Tokenizers", "TensorCore"], swiftSettings: fastFlags),
        .target(name: "RLMath", dependencies: ["TensorCore"], swiftSettings: kernelFlags),
        .target(name: "Data", dependencies: ["TensorCore", "Tokenizers"], swiftSettings: fastFlags),
        .target(name: "RunKit", swiftSettings: fastFlags),
        // Open MPI (Debian: libopenmpi-dev). Its handles are macros; Sources/CMPI/shim.h wraps them.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Distributed", dependencies: ["CMPI", "TensorCore", "RLMath"], swiftSettings: fastFlags),
        .target(name: "RLHF", dependencies: ["TensorCore", "NN", "SafeTensors", "Tokenizers", "Models", "Generation", "RLMath", "Data", "RunKit", "GGUF",
                                            "Distributed"],
                swiftSettings: fastFlags),
        // `rlhf label`: the web page, its HTTP API and the append-only preference file it writes.
        .target(name: "Labeling", dependencies: ["RLHF", "Generation", "Tokenizers", "Data", "RunKit", "Models",
                                                 .product(name: "Hummingbird", package: "hummingbird"),
                                                 .product(name: "HTTPTypes", package: "swift-http-types"),
                                                 .product(name: "NIOCore", package: "swift-nio"),
                                                 .product(name: "Logging", package: "swift-log")],
                swiftSettings: fastFlags),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "TensorCore", "NN", "SafeTensors", "Tokenizers", "Models", "Generation", "RLHF", "GGUF", "Labeling", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastFlags),
        .executableTarget(
            name: "rlhf-bench",
            dependencies: [
                "TensorCore", "NN", "Tokenizers", "Models", "Generation", "RLHF", "Data", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: kernelFlags),
        // Finite-difference gradient checks shared by the test targets (which cannot import each other).
        .target(name: "GradCheck", dependencies: ["TensorCore"], path: "Tests/GradCheck", swiftSettings: fastFlags),
        // One CommandReward call in a process of its own, run by RLHFTests: a reward command that
        // kills its host by SIGPIPE must fail a test, not end the test runner.
        .executableTarget(name: "CommandRewardProbe", dependencies: ["RLHF", "Models"], path: "Tests/CommandRewardProbe", swiftSettings: fastFlags),
        // A few data-parallel training steps of a tiny MLP, run under mpirun by DistributedTests
        // (N = 1 against N = 2, a killed rank, a rank that throws) and by scripts/mpi-two-hosts.sh.
        .executableTarget(name: "MPIProbe", dependencies: ["Distributed", "NN", "TensorCore"], path: "Tests/MPIProbe", swiftSettings: fastFlags),
        // Launching commands under mpirun with a deadline, shared by DistributedTests and RLHFTests.
        .target(name: "MPITestSupport", path: "Tests/MPITestSupport", swiftSettings: fastFlags),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TensorCore", "RLMath", "MPITestSupport"], swiftSettings: fastFlags),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "GradCheck"], swiftSettings: fastFlags),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "GradCheck"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TensorCore"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "NN", "TensorCore"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "TensorCore"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "RLHFTests", dependencies: ["RLHF", "Models", "NN", "Generation", "SafeTensors", "Tokenizers", "TensorCore", "RLMath", "Data", "RunKit",
                                                "MPITestSupport"],
                    exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "RLHF", "Generation", "Models", "Tokenizers", "TensorCore"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "RLMathTests", dependencies: ["RLMath", "TensorCore", "GradCheck"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        .testTarget(name: "DataTests", dependencies: ["Data", "Tokenizers", "TensorCore"], exclude: ["Fixtures"], swiftSettings: fastFlags),
        // HTTP-level, real-browser (headless chromium over its DevTools pipe) and end-to-end tests of `rlhf label`.
        .testTarget(name: "LabelingTests", dependencies: ["Labeling", "RLHF", "Data", "Tokenizers", "Models",
                                                         .product(name: "Hummingbird", package: "hummingbird"),
                                                         .product(name: "Logging", package: "swift-log")],
                    swiftSettings: fastFlags),
        .testTarget(name: "RunKitTests", dependencies: ["RunKit"], swiftSettings: fastFlags),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], exclude: ["Fixtures"], swiftSettings: fastFlags),
    ],
    swiftLanguageModes: [.v6]
)
