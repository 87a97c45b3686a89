// DemoReport: report.html for the demo — SVG plots of every stage's curves (no network)
// and the held-out prompts answered by the SFT and the PPO model with their RM scores.
import Foundation
import RunKit

enum DemoReport {
    static func series(_ history: [MetricsRecord], _ name: String, label: String) -> SVGLinePlot.Series? {
        let points = history.compactMap { r in r.scalars.first { $0.name == name }.map { (Double(r.step), $0.value) } }
        guard !points.isEmpty else { return nil }
        return SVGLinePlot.Series(name: label, x: points.map(\.0), y: points.map(\.1))
    }

    static func plot(_ title: String, x: String, y: String, _ s: [SVGLinePlot.Series?]) -> SVGLinePlot {
        SVGLinePlot(title: title, xLabel: x, yLabel: y, series: s.compactMap { $0 })
    }

    static func write(_ r: DemoResult, config: DemoConfig, sft: TrainingSummary, rm: TrainingSummary, ppo: PPOSummary,
                      samples: [[String: Any]], seconds: Double, to url: URL) throws {
        var report = HTMLReport(title: "RLHF on human-rated movie-review snippets",
                                subtitle: "swift-rlhf demo, budget \(config.budget.rawValue), seed \(config.seed), \(Int(seconds)) s on this machine")
        var intro = HTMLReport.Section("What ran")
        intro.paragraph("Data: the 10,605 movie-review snippets of Hutto & Gilbert's VADER study with their mean human sentiment rating (-4..+4); \(Int(config.heldOutFraction * 100))% are held out from every training stage.")
        intro.paragraph("1. A byte-level BPE tokenizer (\(config.vocabSize) tokens). 2. SFT: a \(config.layers)-layer, width-\(config.width) GPT trained from scratch to write snippets. 3. A Bradley-Terry reward model on every pair of training snippets whose ratings differ by at least 2 (the higher-rated one preferred) within rated groups of \(config.rmGroupSize) snippets, each snippet scored once per pass. 4. PPO: the SFT model continues the first \(config.promptWords) words of held-out snippets, rewarded by the RM, with a KL penalty to the SFT model.")
        intro.stats([
            ("SFT held-out loss (nats/token)", "\(fmt(r.sftEvalLoss.before)) -> \(fmt(r.sftEvalLoss.after))"),
            ("RM held-out pairwise accuracy", "\(fmt(r.rmHeldOutAccuracy)) over \(r.rmHeldOutPairs) pairs with rating gap >= 2"),
            ("Held-out RM score, SFT -> PPO", "\(fmt(r.sft.meanScore)) -> \(fmt(r.ppo.meanScore)) (SFT std \(fmt(r.sft.scoreStd)); gain \(fmt((r.ppo.meanScore - r.sft.meanScore) / max(r.sft.scoreStd, 1e-9))) std)"),
            ("KL(PPO || SFT) per response", "\(fmt(r.ppo.klToSFT)) nats"),
            ("Response length (tokens), SFT / PPO", "\(fmt(r.sft.meanLength)) [\(r.sft.minLength)-\(r.sft.maxLength)] / \(fmt(r.ppo.meanLength)) [\(r.ppo.minLength)-\(r.ppo.maxLength)]"),
            ("EOS rate, SFT / PPO", "\(fmt(r.sft.eosRate)) / \(fmt(r.ppo.eosRate))"),
            ("distinct-2, SFT / PPO", "\(fmt(r.sft.distinct2)) / \(fmt(r.ppo.distinct2))"),
        ].map { (key: $0.0, value: $0.1) }, caption: "Held-out results")
        report.sections.append(intro)

        var s1 = HTMLReport.Section("Supervised fine-tuning")
        s1.plot(plot("SFT loss", x: "optimizer step", y: "cross-entropy (nats/token)",
                     [series(sft.history, "train/loss", label: "train"), series(sft.history, "eval/loss", label: "held-out")]))
        report.sections.append(s1)

        var s2 = HTMLReport.Section("Reward model")
        s2.plot(plot("RM pairwise accuracy", x: "optimizer step", y: "accuracy",
                     [series(rm.history, "train/accuracy", label: "train"), series(rm.history, "eval/accuracy", label: "held-out pairs")]))
        report.sections.append(s2)

        var s3 = HTMLReport.Section("PPO")
        let h = ppo.history
        s3.plot(plot("Mean RM score of rollouts", x: "iteration", y: "score", [series(h, "ppo/score_mean", label: "score")]))
        s3.plot(plot("KL to the SFT model per response", x: "iteration", y: "nats", [series(h, "ppo/kl_mean", label: "KL")]))
        s3.plot(plot("Policy entropy", x: "iteration", y: "nats/token", [series(h, "ppo/entropy", label: "entropy")]))
        s3.plot(plot("Response length", x: "iteration", y: "tokens", [series(h, "ppo/response_length_mean", label: "mean length")]))
        report.sections.append(s3)

        var s4 = HTMLReport.Section("Held-out prompts, SFT vs PPO")
        s4.table(header: ["prompt", "SFT response", "SFT score", "PPO response", "PPO score"], rows: samples.prefix(40).map { row in
            [row["prompt"] as! String, row["sft_response"] as! String, fmt(row["sft_score"] as! Double),
             row["ppo_response"] as! String, fmt(row["ppo_score"] as! Double)]
        }, caption: "first 40 of \(samples.count) held-out prompts; all in samples.jsonl")
        report.sections.append(s4)
        try report.write(to: url)
    }
}
