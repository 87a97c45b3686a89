// `rlhf label`: serves the labelling page (Labeling.LabelServer) until Ctrl-C, appending
// preference rows to --out. Prints the URL to open; held decisions are written on exit.
// Leaves out daemonising and TLS.
import ArgumentParser
import Foundation
import Labeling

extension LabelMode: ExpressibleByArgument {}
extension PromptFormat: ExpressibleByArgument {}

struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Label preferences in a web page: pick the better of two sampled responses, or rate K of them.",
        discussion: """
            Rows are appended to --out in TRL's shape ({"prompt","chosen","rejected"}, or rated groups with
            --mode rate) with the labeller, time, models, seed and choice; `rlhf reward` trains on the file.
            Ties and skips go to OUT.unpaired.jsonl. Restarting with the same --out resumes.
            """)

    @Option(help: "Model directory or .gguf file; give it twice to compare two models (sides shuffled per item).")
    var model: [String]
    @Option(help: "JSONL prompts: {\"prompt\": \"...\"} or {\"prompt\": [messages]} per line.") var prompts: String
    @Option(help: "Preference rows are appended here (resumed, never rewritten).") var out: String
    @Option(help: "pair: A, B, tie or skip; rate: K responses rated 1-5.") var mode: LabelMode = .pair
    @Option(help: "Responses per prompt with --mode rate (2-8).") var responses = 4
    @Option(help: "auto (chat template when the model has one), chat or raw.") var promptFormat: PromptFormat = .auto
    @Option(help: "Address to bind. Anything but loopback requires the token on every request.") var host = "127.0.0.1"
    @Option(help: "Port (0 = any free one).") var port = 8080
    @Option(help: "Access token (16+ of A-Z a-z 0-9 - _); generated when absent.") var token: String?
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        var config = LabelConfig(models: model, promptsPath: prompts, outPath: out)
        config.mode = mode
        config.ratedCount = responses
        config.promptFormat = promptFormat
        config.host = host
        config.port = port
        config.token = token
        config.sampling = sampling.config()
        let secret = token ?? LabelConfig.randomToken()
        let session = try LabelSession(config: config)
        for n in session.notes { FileHandle.standardError.write(Data("note: \(n)\n".utf8)) }

        let loopback = config.bindsLoopback
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            defer { done.signal() }
            do {
                let total = await session.total, labelled = await session.labelled
                let app = LabelServer.application(session: session, token: secret) { port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    var url = "http://\(shown):\(port)/"
                    if !loopback { url += "?token=\(secret)" }
                    // Unbuffered: a script waiting for the URL on a pipe sees it at once.
                    say("Labelling \(total) prompts (\(labelled) done) into \(out)\nOpen \(url)   (Ctrl-C to stop)")
                }
                try await app.runService()
                try await session.shutdown()
                let after = await session.labelled
                say("Stopped: \(after) / \(total) labelled; rows in \(out)")
            } catch {
                failure.error = error
            }
        }
        done.wait()
        if let e = failure.error { throw e }
    }
}

private func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// The server task's error, read after it has finished.
private final class FailureBox: @unchecked Sendable {
    var error: Error?
}
