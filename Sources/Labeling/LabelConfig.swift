// `LabelConfig`: everything `rlhf label` needs, as a documented value type validated in one
// place (the command only maps flags onto it). Leaves out TLS: a labelling server is meant for
// loopback, or a trusted network behind a token.
import Foundation
import Generation

/// What a labeller does with each prompt.
public enum LabelMode: String, Sendable, CaseIterable {
    /// Two responses side by side; A, B, tie or skip. Rows: TRL's {"prompt","chosen","rejected"}.
    case pair
    /// K responses, each rated 1-5. Rows: rated groups {"prompt","completions","ratings"}.
    case rate
}

/// How a prompt becomes token ids.
public enum PromptFormat: String, Sendable, CaseIterable {
    /// The chat template when the tokenizer has one, else the raw text.
    case auto
    /// Always the chat template (an error for a model without one).
    case chat
    /// Always the raw text (a prompt given as messages is then an error).
    case raw
}

public struct LabelConfig: Sendable {
    /// One or two model paths (HF directories or .gguf files). With two, A comes from one and B
    /// from the other, sides shuffled per item.
    public var models: [String]
    /// JSONL prompts, {"prompt": "..."} or {"prompt": [messages]} per line.
    public var promptsPath: String
    /// Preference rows are appended here; the file is resumed, never rewritten.
    public var outPath: String
    public var mode: LabelMode = .pair
    /// Responses per prompt in rate mode (2...8).
    public var ratedCount: Int = 4
    public var promptFormat: PromptFormat = .auto
    /// Sampling as in `rlhf generate`; item i samples with seed `sampling.seed + i`.
    public var sampling: SamplingConfig = SamplingConfig(maxNewTokens: 64, temperature: 0.7)
    /// Address to bind; anything but loopback needs a token.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one.
    public var port: Int = 8_080
    /// Shared secret for every request (query `token` on the page, header X-Label-Token on API
    /// calls). Nil: one is generated.
    public var token: String?
    /// Seconds an item stays reserved for a labeller who went quiet, before another may take it.
    public var leaseSeconds: Double = 900
    /// Largest request body accepted, bytes.
    public var maxBodyBytes: Int = 16 * 1024

    public init(models: [String], promptsPath: String, outPath: String) {
        self.models = models; self.promptsPath = promptsPath; self.outPath = outPath
    }

    public var bindsLoopback: Bool { LabelConfig.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public func validate() throws(LabelError) {
        guard (1...2).contains(models.count) else {
            throw .config("--model: give one model, or two to compare (got \(models.count))")
        }
        if mode == .rate, models.count != 1 { throw .config("--mode rate: give one --model (got \(models.count))") }
        guard (2...8).contains(ratedCount) else { throw .config("--responses must be in 2...8, got \(ratedCount)") }
        guard (0...65_535).contains(port) else { throw .config("--port must be in 0...65535, got \(port)") }
        guard !host.isEmpty else { throw .config("--host is empty") }
        if let token {
            guard token.count >= 16, token.utf8.allSatisfy({ LabelConfig.tokenBytes.contains($0) }) else {
                throw .config("--token must be at least 16 characters of A-Z a-z 0-9 - _")
            }
        }
        guard leaseSeconds > 0, leaseSeconds.isFinite else { throw .config("lease seconds must be > 0, got \(leaseSeconds)") }
        guard maxBodyBytes >= 1024 else { throw .config("max body bytes must be >= 1024, got \(maxBodyBytes)") }
        do { try sampling.validate() } catch { throw .config("\(error)") }
    }

    static let tokenBytes = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 32 random characters from the system's generator.
    public static func randomToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }
}
