// A frame's capture time, read from the picture a <video> element shows.
//
// The same layout twins/capture_stamp.py burns (see its docstring): cells of
// floor(width / 40) pixels square, 3 rows of 40 from the top-left corner; an 8-cell marker
// 10110010, 48 bits of wall-clock ms, 48 bits of scenario ms, the CRC-16/XMODEM of those 12
// bytes, most significant bit first. A cell is 1 when the luma mean of its central half is
// above mid-grey. Only the top strip is copied to a canvas, so reading costs little even
// for a large picture.
//
//   captureStamp.read(video)  → {wall, scenario} in seconds since the epoch, or null
//   captureStamp.decode(rgba, width, height) → the same from RGBA pixels of the top strip
"use strict";

(function (global) {
  const CELLS_PER_ROW = 40;
  const ROWS = 3;
  const MARKER = [1, 0, 1, 1, 0, 0, 1, 0];
  const MIN_CELL = 4;
  const PAYLOAD_BYTES = 12;

  function crc16xmodem(bytes) {
    let crc = 0;
    for (const byte of bytes) {
      crc ^= byte << 8;
      for (let bit = 0; bit < 8; bit += 1) {
        crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
      }
    }
    return crc;
  }

  function cellSize(width) {
    return Math.floor(width / CELLS_PER_ROW);
  }

  // 48 bits as a Number: exact, since 2^48 < 2^53.
  function uint48(bytes, offset) {
    let value = 0;
    for (let i = 0; i < 6; i += 1) value = value * 256 + bytes[offset + i];
    return value;
  }

  function decode(rgba, width, height) {
    const cell = cellSize(width);
    if (cell < MIN_CELL || height < cell * ROWS) return null;
    const quarter = Math.max(1, Math.floor(cell / 4));
    const bits = [];
    for (let row = 0; row < ROWS; row += 1) {
      for (let column = 0; column < CELLS_PER_ROW; column += 1) {
        let sum = 0, count = 0;
        for (let y = row * cell + quarter; y < (row + 1) * cell - quarter; y += 1) {
          for (let x = column * cell + quarter; x < (column + 1) * cell - quarter; x += 1) {
            const i = (y * width + x) * 4;
            sum += 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
            count += 1;
          }
        }
        bits.push(sum / count > 127.5 ? 1 : 0);
      }
    }
    for (let i = 0; i < MARKER.length; i += 1) if (bits[i] !== MARKER[i]) return null;
    const bytes = [];
    for (let i = MARKER.length; i < bits.length; i += 8) {
      let byte = 0;
      for (let j = 0; j < 8; j += 1) byte = (byte << 1) | bits[i + j];
      bytes.push(byte);
    }
    const payload = bytes.slice(0, PAYLOAD_BYTES);
    const crc = (bytes[PAYLOAD_BYTES] << 8) | bytes[PAYLOAD_BYTES + 1];
    if (crc16xmodem(payload) !== crc) return null;
    return { wall: uint48(payload, 0) / 1000, scenario: uint48(payload, 6) / 1000 };
  }

  let canvas = null, context = null;

  function read(video) {
    const width = video.videoWidth, height = video.videoHeight;
    const cell = cellSize(width);
    if (cell < MIN_CELL || height < cell * ROWS) return null;
    const strip = cell * ROWS;
    if (canvas === null) {
      canvas = document.createElement("canvas");
      context = canvas.getContext("2d", { willReadFrequently: true });
    }
    if (canvas.width !== width || canvas.height !== strip) {
      canvas.width = width;
      canvas.height = strip;
    }
    context.drawImage(video, 0, 0, width, strip, 0, 0, width, strip);
    return decode(context.getImageData(0, 0, width, strip).data, width, strip);
  }

  global.captureStamp = { read, decode, crc16xmodem };
})(window);
