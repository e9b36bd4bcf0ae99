-- pandoc filter for dd2424's LaTeX report (pandoc >= 2.17).
--
-- Tables: a table whose natural width fits the text width is left as it is (columns as wide as
-- their content). A wider one gets relative column widths, so its long text columns wrap: every
-- column at least as wide as its longest word (no one-word-wide columns, nothing to hyphenate),
-- the rest of the width shared in proportion to how much more each column would like; if that
-- does not fit at \small, the table is set in \footnotesize. Header cells are never hyphenated.
-- Inline code and words longer than 24 characters without spaces (hashes) may break anywhere.

local CHARS = { normal = 80, small = 88, footnotesize = 104 }  -- characters per 16 cm line
local PAD, TIGHT_PAD = 2.5, 1.3  -- 2 \tabcolsep in characters: 6pt (LaTeX's default) and 3pt (the widest tables)

local function cells_of(row)
  return row.cells or row[2]
end

local function text_of(cell)
  return pandoc.utils.stringify(cell.contents or cell[5] or cell)
end

local function ulen(s)
  return utf8.len(s) or #s
end

local function measure(rows, ncols, natural, longest, numeric)
  for _, row in ipairs(rows) do
    for j, cell in ipairs(cells_of(row)) do
      if j <= ncols then
        local text = text_of(cell)
        natural[j] = math.max(natural[j], ulen(text))
        if numeric and text ~= "" and not text:match("^[%d%s%.%+%-eE%%,±%[%]()]+$") then
          numeric[j] = false
        end
        for word in text:gmatch("%S+") do
          longest[j] = math.max(longest[j], ulen(word))
        end
      end
    end
  end
end

local function no_hyphens(cell)
  local blocks = cell.contents
  if blocks and blocks[1] and blocks[1].content then
    blocks[1].content:insert(1, pandoc.RawInline("latex", "\\hyphenpenalty=10000\\exhyphenpenalty=10000\\relax{}"))
  end
end

function Table(tbl)
  local ncols = #tbl.colspecs
  local natural, longest, numeric = {}, {}, {}
  for j = 1, ncols do natural[j], longest[j], numeric[j] = 1, 1, true end
  measure(tbl.head.rows, ncols, natural, longest, nil)
  for _, body in ipairs(tbl.bodies) do
    measure(body.body, ncols, natural, longest, numeric)
  end
  for _, row in ipairs(tbl.head.rows) do
    for _, cell in ipairs(cells_of(row)) do no_hyphens(cell) end
  end
  local want, least = ncols * PAD, ncols * PAD
  for j = 1, ncols do
    want = want + natural[j]
    least = least + longest[j]
  end
  local size, line, pad = nil, nil, PAD
  if want <= CHARS.normal then
    size = nil
  elseif want <= CHARS.small then
    size = "small"
  elseif least <= CHARS.small then
    size, line = "small", CHARS.small
  else
    size, line, pad = "footnotesize\\setlength{\\tabcolsep}{3pt}", CHARS.footnotesize, TIGHT_PAD
  end
  if line == nil then
    for j = 1, ncols do
      tbl.colspecs[j] = { tbl.colspecs[j][1], nil }
    end
  else
    local room = line - ncols * pad
    local spare, desire = room, 0
    for j = 1, ncols do
      spare = spare - longest[j]
      desire = desire + math.max(0, natural[j] - longest[j])
    end
    spare = math.max(0, spare)
    local widths, total = {}, 0
    for j = 1, ncols do
      local extra = desire > 0 and spare * math.max(0, natural[j] - longest[j]) / desire or 0
      widths[j] = math.min(natural[j], longest[j] + extra)
      total = total + widths[j]
    end
    for j = 1, ncols do
      local align = tbl.colspecs[j][1]
      if natural[j] > widths[j] + 0.5 and not numeric[j] then
        align = pandoc.AlignLeft  -- wrapped text reads better flush left
      end
      tbl.colspecs[j] = { align, widths[j] / total }
    end
  end
  if size then
    return { pandoc.RawBlock("latex", "\\begingroup\\" .. size), tbl, pandoc.RawBlock("latex", "\\endgroup") }
  end
  return tbl
end

local function breakable(text)
  return "\\texttt{\\seqsplit{" .. text .. "}}"
end

function Code(code)
  local text = code.text
  if ulen(text) > 24 and not text:find("%s") and text:match("^[%w%-%./:]+$") then
    return pandoc.RawInline("latex", breakable(text))
  end
end

function Str(str)
  local text = str.text
  if ulen(text) > 24 and text:match("^[%w%-%./:,;()]+$") then
    return pandoc.RawInline("latex", "\\seqsplit{" .. text .. "}")
  end
end
