// Local devices and playback for the media views: the camera and microphone asked for one by
// one, with a clear message for each device that is missing or refused (the class goes on with
// what works), and attaching a stream to a <video>/<audio> element.

const PROBLEMS = {
  NotAllowedError: (what) => `${what} access is blocked. Allow it in the browser's site settings and reload; the class goes on without it.`,
  SecurityError: (what) => `${what} access is blocked. Allow it in the browser's site settings and reload; the class goes on without it.`,
  NotFoundError: (what) => `No ${what.toLowerCase()} was found. Plug one in and reload; the class goes on without it.`,
  OverconstrainedError: (what) => `No ${what.toLowerCase()} was found. Plug one in and reload; the class goes on without it.`,
  NotReadableError: (what) => `The ${what.toLowerCase()} is in use by another program. Close it and reload; the class goes on without it.`,
};

export function describeProblem(what, err) {
  const make = PROBLEMS[err?.name];
  return make ? make(what) : `${what} could not start; the class goes on without it.`;
}

/** Ask for each device on its own, so a missing camera does not cost the microphone. */
export async function acquire({ camera = true, microphone = true } = {}) {
  const out = { camera: null, microphone: null, problems: [] };
  if (!navigator.mediaDevices?.getUserMedia) {
    out.problems.push("This browser cannot use a camera or microphone here (it needs https). The class goes on without them.");
    return out;
  }
  for (const [kind, want, what] of [["camera", camera, "Camera"], ["microphone", microphone, "Microphone"]]) {
    if (!want) continue;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(kind === "camera" ? { video: true } : { audio: true });
      out[kind] = (kind === "camera" ? stream.getVideoTracks() : stream.getAudioTracks())[0] ?? null;
    } catch (err) {
      out.problems.push(describeProblem(what, err));
    }
  }
  return out;
}

/** Show `stream` in `el` (video or audio); video elements count painted frames in
 *  data-frames (requestVideoFrameCallback) and say data-painting="1" once a frame came (the
 *  views show a picture-in-picture only then, and set it back to "0" when its source leaves).
 *  Returns false when the browser refused to play sound without a click. */
export async function attach(el, stream) {
  if (el.srcObject !== stream) el.srcObject = stream;
  if (el.tagName === "VIDEO" && !el.dataset.counting && "requestVideoFrameCallback" in el) {
    el.dataset.counting = "1";
    el.dataset.frames = "0";
    const count = () => {
      el.dataset.frames = String(Number(el.dataset.frames) + 1);
      if (el.dataset.painting !== "1") el.dataset.painting = "1";
      el.requestVideoFrameCallback(count);
    };
    el.requestVideoFrameCallback(count);
  }
  try {
    await el.play();
    return true;
  } catch {
    return false;
  }
}
