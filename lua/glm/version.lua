-- The plugin's version, sent as initialize.clientInfo.version. Kept equal to the project version in
-- CMakeLists.txt (`project(glm-server VERSION ...)`); unit_spec checks that they agree.
return '0.1.0'
