// RoPE inverse frequencies as transformers computes them: the standard 1/theta^(2i/d),
// "linear" scaling (divide by factor) and Llama 3's frequency-dependent scaling.
// Other rope types are refused by the config reader, by name.
import Foundation

public enum RoPEFrequencies {
    public static func standard(headDim: Int, theta: Double) -> [Float] {
        // torch: 1 / theta ** (arange(0, d, 2, dtype=int64).float() / d), in float32.
        (0..<(headDim / 2)).map { i in
            let exponent = Float(2 * i) / Float(headDim)
            return 1 / Float(Foundation.pow(Double(Float(theta)), Double(exponent)))
        }
    }

    public static func linear(_ base: [Float], factor: Double) -> [Float] {
        base.map { $0 / Float(factor) }
    }

    /// transformers `_compute_llama3_parameters`.
    public static func llama3(_ base: [Float], factor: Double, lowFreqFactor: Double, highFreqFactor: Double,
                              originalMaxPositions: Double) -> [Float] {
        let lowFreqWavelen = originalMaxPositions / lowFreqFactor
        let highFreqWavelen = originalMaxPositions / highFreqFactor
        return base.map { f in
            let wavelen = 2 * Double.pi / Double(f)
            if wavelen < highFreqWavelen { return f }
            if wavelen > lowFreqWavelen { return Float(Double(f) / factor) }
            let smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
            return Float((1 - smooth) * Double(f) / factor + smooth * Double(f))
        }
    }
}
