using ZImage.Engine.Models.Install.Checkpoint;
using static ZImage.Engine.Models.Install.Graphs.Ops;

namespace ZImage.Engine.Models.Install.Graphs;

/// <summary>
/// Flux VAE decoder graph: latent [1, 16, h, w] in the sampler's space → image [1, 3, 8h, 8w] in [-1, 1] (not
/// clamped). The graph itself applies z = latent / scaling_factor + shift_factor first, as the official pipeline
/// does before vae.decode. Input and output are float32 whatever the dtype; with fp16 everything between (weights,
/// activations, convolutions, the group norms' inputs and outputs) is fp16, which halves the decoder's workspace,
/// the largest single allocation of a 1024x1024 image. Group norm statistics are still accumulated in float32 by
/// the providers' InstanceNormalization kernels.
/// </summary>
internal static class VaeDecoderGraph
{
    private const float Eps = 1e-6f;

    public static void Build(OnnxGraph g, VaeArch arch, CheckpointPart src, WeightDtype dtype)
    {
        if (dtype is not (WeightDtype.Fp32 or WeightDtype.Fp16))
            throw new ArgumentException($"VAE dtype {WeightCodec.Name(dtype)}: only fp32 and fp16 are supported", nameof(dtype));
        var o = new Ops(g, dtype);
        var groups = arch.NormNumGroups;
        string W(string name, WeightData data) => g.Weight(name, data, dtype);

        string Conv(string x, string name, long pad) =>
            g.Op("Conv", [x, W(name + ".weight", src.Get(name + ".weight")), W(name + ".bias", src.Get(name + ".bias"))],
                attributes: A("pads", new[] { pad, pad, pad, pad }));

        string GroupNorm(string x, string name)
        {
            // torch GroupNorm: normalise each of G channel groups over (C/G, H, W) with the biased variance, then
            // the per-channel affine. InstanceNormalization over [1, G, C/G*H*W] does the first half.
            var c = src.Shape(name + ".weight")[0];
            var y = g.Op("Reshape", [x, g.Ints(1, groups, -1)]);
            y = g.Op("InstanceNormalization", [y, g.Const(Enumerable.Repeat(1f, groups).ToArray(), [groups], dtype, hint: "gn_one"),
                g.Const(new float[groups], [groups], dtype, hint: "gn_zero")], attributes: A("epsilon", Eps));
            y = g.Op("Reshape", [y, g.Op("Shape", [x])]);
            y = g.Op("Mul", [y, W(name + ".weight", src.Get(name + ".weight").Reshape(c, 1, 1))]);
            return g.Op("Add", [y, W(name + ".bias", src.Get(name + ".bias").Reshape(c, 1, 1))]);
        }

        string Resnet(string x, string name)
        {
            var hdn = Conv(o.Silu(GroupNorm(x, name + ".norm1")), name + ".conv1", 1);
            hdn = Conv(o.Silu(GroupNorm(hdn, name + ".norm2")), name + ".conv2", 1);
            if (src.Contains(name + ".conv_shortcut.weight"))
                x = Conv(x, name + ".conv_shortcut", 0);
            return g.Op("Add", [x, hdn]);
        }

        string Attention(string x, string name)
        {
            // single head over all h*w positions, head size = channels
            var c = src.Shape(name + ".to_q.weight")[0];
            var hdn = GroupNorm(x, name + ".group_norm");
            hdn = g.Op("Transpose", [g.Op("Reshape", [hdn, g.Ints(1, c, -1)])], attributes: A("perm", new long[] { 0, 2, 1 })); // [1, hw, c]
            var q = o.Linear(hdn, name + ".to_q", src.Get(name + ".to_q.weight"), src.Get(name + ".to_q.bias"), dtype);
            var k = o.Linear(hdn, name + ".to_k", src.Get(name + ".to_k.weight"), src.Get(name + ".to_k.bias"), dtype);
            var v = o.Linear(hdn, name + ".to_v", src.Get(name + ".to_v.weight"), src.Get(name + ".to_v.bias"), dtype);
            var a = o.Mha(q, k, v, 1);
            a = o.Linear(a, name + ".to_out.0", src.Get(name + ".to_out.0.weight"), src.Get(name + ".to_out.0.bias"), dtype);
            a = g.Op("Reshape", [g.Op("Transpose", [a], attributes: A("perm", new long[] { 0, 2, 1 })), g.Op("Shape", [x])]);
            return g.Op("Add", [x, a]);
        }

        var latent = g.Input("latent", ElemFloat, 1, arch.LatentChannels, "latent_height", "latent_width");
        var z = g.Op("Add", [g.Op("Div", [latent, g.Const((float)arch.ScalingFactor)]), g.Const((float)arch.ShiftFactor)]);
        z = o.ToCompute(z);
        if (arch.UsePostQuantConv)
            z = Conv(z, "post_quant_conv", 0);
        var x = Conv(z, "decoder.conv_in", 1);
        x = Resnet(x, "decoder.mid_block.resnets.0");
        x = Attention(x, "decoder.mid_block.attentions.0");
        x = Resnet(x, "decoder.mid_block.resnets.1");
        var n = arch.BlockOutChannels.Length;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < arch.LayersPerBlock + 1; j++)
                x = Resnet(x, $"decoder.up_blocks.{i}.resnets.{j}");
            if (i != n - 1)
            {
                // nearest 2x, as F.interpolate(scale_factor=2, mode="nearest")
                x = g.Op("Resize", [x, "", g.Const([1f, 1f, 2f, 2f], [4], hint: "up2")],
                    attributes: [A("mode", "nearest"), A("coordinate_transformation_mode", "asymmetric"), A("nearest_mode", "floor")]);
                x = Conv(x, $"decoder.up_blocks.{i}.upsamplers.0.conv", 1);
            }
        }
        x = o.ToF32(Conv(o.Silu(GroupNorm(x, "decoder.conv_norm_out")), "decoder.conv_out", 1));
        g.Output(x, "image", ElemFloat, 1, arch.OutChannels, "image_height", "image_width");
    }
}
