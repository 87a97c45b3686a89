// TrainingArguments: the optimisation and bookkeeping fields every trainer shares, read
// from the same flat JSON object as the trainer's own fields (names follow transformers'
// TrainingArguments where one exists). Every field has a default; `validate` names the
// field at fault.
import Foundation
import NN
import RunKit
import TensorCore

public struct TrainingArguments: Codable, Sendable, Equatable {
    /// Where checkpoints (`checkpoint-<step>/`), metrics and the final model (config.json,
    /// model.safetensors and tokenizer files at its top level) go.
    public var outputDir = "runs/out"
    /// Allows a fresh run in a non-empty `outputDir`: the run writes its files there and keeps
    /// everything else (another run's checkpoints are neither resumed nor pruned). CLI: --overwrite.
    public var overwriteOutputDir = false
    /// Passes over the training set (ignored when maxSteps > 0).
    public var numTrainEpochs = 1
    /// Optimizer steps to run; 0 = derive from numTrainEpochs.
    public var maxSteps = 0
    /// Examples (rows: an SFT example, a preference pair or a whole rated group) per micro-batch.
    public var batchSize = 4
    /// Micro-batches per optimizer step (effective batch = batchSize x this).
    public var gradientAccumulationSteps = 1
    public var learningRate: Float = 5e-5
    /// Decoupled AdamW weight decay; never applied to biases and norm weights.
    public var weightDecay: Float = 0
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    /// "constant", "linear" or "cosine" (after `warmupSteps` of linear warmup).
    public var lrSchedulerType = "linear"
    public var warmupSteps = 0
    /// Global gradient-norm clip (0 = off).
    public var maxGradNorm: Float = 1
    /// Optimizer steps between metric lines.
    public var loggingSteps = 10
    /// Optimizer steps between evaluations (0 = only at the end).
    public var evalSteps = 0
    /// Optimizer steps between checkpoints (0 = none).
    public var saveSteps = 0
    /// Checkpoints kept (oldest removed first).
    public var saveTotalLimit = 2
    /// Fixes data order, splits and fresh weights.
    public var seed: UInt64 = 42
    /// "fp32" or "bf16": the matrix products of forward and backward (bf16 operands, fp32
    /// accumulation); weights, optimizer state, losses and norms stay fp32. See docs/precision.md.
    public var precision: Precision = .fp32

    public init() {}

    enum CodingKeys: String, CodingKey {
        case outputDir = "output_dir", overwriteOutputDir = "overwrite_output_dir"
        case numTrainEpochs = "num_train_epochs", maxSteps = "max_steps", batchSize = "batch_size"
        case gradientAccumulationSteps = "gradient_accumulation_steps", learningRate = "learning_rate"
        case weightDecay = "weight_decay", adamBeta1 = "adam_beta1", adamBeta2 = "adam_beta2", adamEpsilon = "adam_epsilon"
        case lrSchedulerType = "lr_scheduler_type", warmupSteps = "warmup_steps", maxGradNorm = "max_grad_norm"
        case loggingSteps = "logging_steps", evalSteps = "eval_steps", saveSteps = "save_steps"
        case saveTotalLimit = "save_total_limit", seed, precision
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingArguments()
        outputDir = try c.decode(.outputDir, default: d.outputDir)
        overwriteOutputDir = try c.decode(.overwriteOutputDir, default: d.overwriteOutputDir)
        numTrainEpochs = try c.decode(.numTrainEpochs, default: d.numTrainEpochs)
        maxSteps = try c.decode(.maxSteps, default: d.maxSteps)
        batchSize = try c.decode(.batchSize, default: d.batchSize)
        gradientAccumulationSteps = try c.decode(.gradientAccumulationSteps, default: d.gradientAccumulationSteps)
        learningRate = try c.decode(.learningRate, default: d.learningRate)
        weightDecay = try c.decode(.weightDecay, default: d.weightDecay)
        adamBeta1 = try c.decode(.adamBeta1, default: d.adamBeta1)
        adamBeta2 = try c.decode(.adamBeta2, default: d.adamBeta2)
        adamEpsilon = try c.decode(.adamEpsilon, default: d.adamEpsilon)
        lrSchedulerType = try c.decode(.lrSchedulerType, default: d.lrSchedulerType)
        warmupSteps = try c.decode(.warmupSteps, default: d.warmupSteps)
        maxGradNorm = try c.decode(.maxGradNorm, default: d.maxGradNorm)
        loggingSteps = try c.decode(.loggingSteps, default: d.loggingSteps)
        evalSteps = try c.decode(.evalSteps, default: d.evalSteps)
        saveSteps = try c.decode(.saveSteps, default: d.saveSteps)
        saveTotalLimit = try c.decode(.saveTotalLimit, default: d.saveTotalLimit)
        seed = try c.decode(.seed, default: d.seed)
        precision = try c.decode(.precision, default: d.precision)
    }

    public func validate(file: String) throws {
        func bad(_ field: CodingKeys, _ message: String) -> ConfigError {
            .invalidValue(file: file, field: field.rawValue, message: message)
        }
        if outputDir.isEmpty { throw bad(.outputDir, "is empty; expected the path of a folder for checkpoints, metrics and the model") }
        if numTrainEpochs < 1 && maxSteps <= 0 { throw bad(.numTrainEpochs, "must be >= 1 (or set max_steps)") }
        // Upper bounds keep epochs x steps and step arithmetic from wrapping (CountLimits).
        func count(_ v: Int, _ range: ClosedRange<Int>, _ f: CodingKeys) throws {
            try CountLimits.check(v, range, field: f.rawValue, file: file)
        }
        try count(numTrainEpochs, (maxSteps > 0 ? Int.min : 1)...CountLimits.epochs, .numTrainEpochs)
        try count(maxSteps, 0...CountLimits.steps, .maxSteps)
        try count(batchSize, 1...CountLimits.batch, .batchSize)
        try count(gradientAccumulationSteps, 1...CountLimits.batch, .gradientAccumulationSteps)
        if !(learningRate > 0) { throw bad(.learningRate, "must be > 0") }
        if weightDecay < 0 { throw bad(.weightDecay, "must be >= 0") }
        if !(0..<1).contains(adamBeta1) { throw bad(.adamBeta1, "must be in [0, 1)") }
        if !(0..<1).contains(adamBeta2) { throw bad(.adamBeta2, "must be in [0, 1)") }
        if !(adamEpsilon > 0) { throw bad(.adamEpsilon, "must be > 0") }
        if !["constant", "linear", "cosine"].contains(lrSchedulerType) {
            throw bad(.lrSchedulerType, "must be \"constant\", \"linear\" or \"cosine\", got \"\(lrSchedulerType)\"")
        }
        try count(warmupSteps, 0...CountLimits.steps, .warmupSteps)
        if maxGradNorm < 0 { throw bad(.maxGradNorm, "must be >= 0 (0 = no clipping)") }
        try count(loggingSteps, 1...CountLimits.steps, .loggingSteps)
        try count(evalSteps, 0...CountLimits.steps, .evalSteps)
        try count(saveSteps, 0...CountLimits.steps, .saveSteps)
        try count(saveTotalLimit, 1...CountLimits.batch, .saveTotalLimit)
    }

    public var adamW: AdamWConfig {
        AdamWConfig(lr: learningRate, beta1: adamBeta1, beta2: adamBeta2, eps: adamEpsilon, weightDecay: weightDecay)
    }

    public func schedule(totalSteps: Int) -> LRSchedule {
        switch lrSchedulerType {
        case "constant": return .constant(warmupSteps: warmupSteps)
        case "cosine": return .cosine(warmupSteps: warmupSteps, totalSteps: totalSteps)
        default: return .linear(warmupSteps: warmupSteps, totalSteps: totalSteps)
        }
    }
}
