namespace Pretext.Data;

/// <summary>What kind of samples a data set holds and an encoder takes.</summary>
public enum Modality
{
    /// <summary>Images (B, C, H, W) fp32 in [0, 1].</summary>
    Image,
    /// <summary>Token-id sequences (B, L) int64, padded with the tokenizer's pad id (the text layer's TokenizedDataset).</summary>
    Text,
    /// <summary>Windows of a multichannel time series (B, C, L) fp32: C channels, L readings, normalised per channel.</summary>
    Series,
    /// <summary>Log-mel spectrograms (B, mels, frames) fp32 of fixed-length mono clips (the audio modality's front end).</summary>
    Audio,
    /// <summary>Rows of a table (B, F) fp32: standardised numbers, their missing indicators, then one code per categorical column (<see cref="Tables.TableEncoding"/>).</summary>
    Table,
    /// <summary>Clips of frames (B, T, C, H, W) fp32 in [0, 1] (<see cref="Video.VideoClips"/>, <see cref="Video.MovingMnist"/>). The FrameSequence encoder and the nextframe and timecontrastive methods read it; runs go through <c>Runs.Modalities.VideoModality</c> (docs/video.md).</summary>
    Video,
}
