// DemoReport: report.html for the demo — the test-split results (PPO's gain under the RM it
// optimised and under the independent judge, side by side), SVG plots of every stage's
// curves (no network) and test prompts answered by the SFT and the PPO model.
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

    static func gain(_ sft: ScoreStats, _ ppo: ScoreStats) -> String {
        String(format: "%+.2f", (ppo.mean - sft.mean) / max(sft.std, 1e-9))
    }

    static func write(_ r: DemoResult, config: DemoConfig, sft: TrainingSummary, rm: TrainingSummary, judge: TrainingSummary,
                      ppo: PPOSummary, samples: [[String: Any]], seconds: Double, to url: URL) throws {
        var report = HTMLReport(title: "RLHF on human-rated movie-review snippets",
                                subtitle: "swift-rlhf demo, budget \(config.budget.rawValue), seed \(config.seed),"
                                    + " \(Int(seconds)) s on this machine")
        var intro = HTMLReport.Section("What ran")
        let n = r.splitSizes
        intro.paragraph("Data: the 10,605 movie-review snippets of Hutto & Gilbert's VADER study with their mean human sentiment rating"
            + " (-4..+4), cut by one seeded permutation into \(n.train) training, \(n.validation) validation and \(n.test) test snippets."
            + " Everything is trained on training snippets; every during-training evaluation and every setting chosen looked at"
            + " validation only; the numbers below are on the test split, which nothing trained or was tuned on.")
        intro.paragraph("1. A byte-level BPE tokenizer (\(config.vocabSize) tokens). 2. SFT: a \(config.layers)-layer,"
            + " width-\(config.width) GPT trained from scratch to write the training snippets. 3. Two Bradley-Terry reward models"
            + " from the SFT model, on every pair of snippets whose ratings differ by at least 2 within rated groups of"
            + " \(config.rmGroupSize): the optimised RM on the first half of the training split (seed \(config.seed)), and the judge"
            + " on the other half (seed \(config.judgeSeed)). 4. PPO: the SFT model continues the first \(config.promptWords) words"
            + " of training snippets (\(r.ppoPromptCount) distinct prompts), rewarded by the optimised RM, with a KL penalty to the"
            + " SFT model; PPO never sees the judge. 5. Both models answer \(r.evalPromptCount)"
            + " distinct test prompts, none of which is a PPO prompt; every response is scored by both reward models.")
        intro.stats([
            ("SFT test loss (nats/token)", "\(fmt(r.sftTestLoss.before)) -> \(fmt(r.sftTestLoss.after))"),
            ("optimised RM: test pairwise accuracy",
             "\(fmt(r.rm.test.accuracy)) over all \(r.rm.test.pairs) test pairs with rating gap >= 2"),
            ("judge RM: test pairwise accuracy", "\(fmt(r.judge.test.accuracy)) over the same pairs"),
            ("KL(PPO || SFT) per response", "\(fmt(r.ppo.klToSFT)) nats"),
            ("Response length (tokens), SFT / PPO",
             "\(fmt(r.sft.meanLength)) [\(r.sft.minLength)-\(r.sft.maxLength)] / "
                + "\(fmt(r.ppo.meanLength)) [\(r.ppo.minLength)-\(r.ppo.maxLength)]"),
            ("EOS rate, SFT / PPO", "\(fmt(r.sft.eosRate)) / \(fmt(r.ppo.eosRate))"),
            ("distinct-2, SFT / PPO", "\(fmt(r.sft.distinct2)) / \(fmt(r.ppo.distinct2))"),
        ].map { (key: $0.0, value: $0.1) }, caption: "Test results")
        intro.table(header: ["score of test responses", "SFT mean (std)", "PPO mean", "gain (SFT std)"], rows: [
            ["optimised RM (PPO reward)", "\(fmt(r.sft.rm.mean)) (\(fmt(r.sft.rm.std)))", fmt(r.ppo.rm.mean),
             gain(r.sft.rm, r.ppo.rm)],
            ["judge RM (never seen by PPO)", "\(fmt(r.sft.judge.mean)) (\(fmt(r.sft.judge.std)))", fmt(r.ppo.judge.mean),
             gain(r.sft.judge, r.ppo.judge)],
        ], caption: "PPO vs SFT on \(r.evalPromptCount) test prompts, under the RM PPO optimised and under the independent judge")
        intro.stats([
            ("SFT validation loss", "\(fmt(r.sftValidationLoss.before)) -> \(fmt(r.sftValidationLoss.after))"),
            ("validation pairwise accuracy, optimised RM / judge",
             "\(fmt(r.rm.validation.accuracy)) / \(fmt(r.judge.validation.accuracy)) over \(r.rm.validation.pairs) pairs"),
            ("validation prompts: RM score, SFT -> PPO",
             "\(fmt(r.validation.sft.rm.mean)) -> \(fmt(r.validation.ppo.rm.mean))"
                + " (\(gain(r.validation.sft.rm, r.validation.ppo.rm)) SFT std)"),
            ("validation prompts: judge score, SFT -> PPO", "\(fmt(r.validation.sft.judge.mean)) -> \(fmt(r.validation.ppo.judge.mean))"
                + " (\(gain(r.validation.sft.judge, r.validation.ppo.judge)) SFT std); KL \(fmt(r.validation.ppo.klToSFT)) nats"),
        ].map { (key: $0.0, value: $0.1) }, caption: "Validation (what settings are chosen on; not a result)")
        report.sections.append(intro)

        var s1 = HTMLReport.Section("Supervised fine-tuning")
        s1.plot(plot("SFT loss", x: "optimizer step", y: "cross-entropy (nats/token)",
                     [series(sft.history, "train/loss", label: "train"), series(sft.history, "eval/loss", label: "validation")]))
        report.sections.append(s1)

        var s2 = HTMLReport.Section("Reward model")
        s2.plot(plot("Pairwise accuracy of both reward models", x: "optimizer step", y: "accuracy",
                     [series(rm.history, "train/accuracy", label: "RM train"), series(rm.history, "eval/accuracy", label: "RM validation"),
                      series(judge.history, "train/accuracy", label: "judge train"),
                      series(judge.history, "eval/accuracy", label: "judge validation")]))
        report.sections.append(s2)

        var s3 = HTMLReport.Section("PPO")
        let h = ppo.history
        s3.plot(plot("Mean RM score of rollouts", x: "iteration", y: "score", [series(h, "ppo/score_mean", label: "score")]))
        s3.plot(plot("KL to the SFT model per response", x: "iteration", y: "nats", [series(h, "ppo/kl_mean", label: "KL")]))
        s3.plot(plot("Policy entropy", x: "iteration", y: "nats/token", [series(h, "ppo/entropy", label: "entropy")]))
        s3.plot(plot("Response length", x: "iteration", y: "tokens", [series(h, "ppo/response_length_mean", label: "mean length")]))
        report.sections.append(s3)

        var s4 = HTMLReport.Section("Test prompts, SFT vs PPO")
        s4.table(header: ["prompt", "SFT response", "SFT RM", "SFT judge", "PPO response", "PPO RM", "PPO judge"],
                 rows: samples.prefix(40).map { row in
            [row["prompt"] as! String, row["sft_response"] as! String, fmt(row["sft_score"] as! Double),
             fmt(row["sft_judge_score"] as! Double),
             row["ppo_response"] as! String, fmt(row["ppo_score"] as! Double), fmt(row["ppo_judge_score"] as! Double)]
        }, caption: "first 40 of \(samples.count) test prompts; all in samples.jsonl. RM: the reward model PPO optimised; judge: the"
            + " reward model trained on the other half of the training split, never used by PPO")
        report.sections.append(s4)
        try report.write(to: url)
    }
}
